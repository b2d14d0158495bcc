/**
 * Prints the suite's closing line in the plain form CI reads ("N passed, N failed, N skipped"),
 * after listing every skipped test with the reason in its name: nothing is skipped silently.
 */
class SummaryReporter {
    onRunComplete(_contexts, results) {
        const skipped = [];
        for (const file of results.testResults) {
            for (const t of file.testResults) {
                if (t.status === "pending" || t.status === "skipped" || t.status === "todo") {
                    skipped.push(t.fullName);
                }
            }
        }
        if (skipped.length > 0) {
            console.log("\nTests that could not run here:");
            for (const name of skipped) {
                console.log(`  - ${name}`);
            }
        }
        const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
        console.log(`\n${results.numPassedTests} passed, ${failed} failed, ${skipped.length} skipped`);
    }
}
module.exports = SummaryReporter;
