/**
 * The only tests that may be skipped, each with the reason it cannot run where CI runs (`bash .ci/run` on a fresh
 * Debian 12 machine, as root). summaryReporter.js fails the run for any other skipped test: a skip is how a missing
 * tool or a failed build would otherwise pass unnoticed. `.ci/run` installs or builds what every other test needs.
 *
 * A local run on a machine that lacks some tools can let the reporter list skips without failing:
 * DR_ALLOW_SKIPS=1 (never set by .ci/run).
 *
 * Each entry: `name`, a substring of the skipped test's full name (describe blocks and test name, as the summary
 * lists it), and `reason`, why CI cannot run it.
 */
module.exports = [
    {
        name: "runs a real `terraform output -json` on an applied configuration [SKIPPED: needs terraform]",
        reason:
            "Debian packages no Terraform, and the only one buildable from the Go module proxy under its old open " +
            "licence is v1.5.7 (2023); its cold build costs as much as OpenTofu's (~9 CPU minutes), which .ci/run " +
            "does build (build-tofu.sh): the same `output -json` and state format are tested with tofu",
    },
];
