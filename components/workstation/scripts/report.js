"use strict";
// How every workstation script ends: like a command. Its JSON result on stdout (Pulumi keeps it as the
// Command's stdout and hands it to the delete as PULUMI_COMMAND_STDOUT); an error as one line on stderr,
// prefixed with the step's name, and exit code 1.
function report(step, work) {
    try {
        process.stdout.write(`${JSON.stringify(work())}\n`);
    } catch (e) {
        process.stderr.write(`${step}: ${e.message}\n`);
        process.exitCode = 1;
    }
}

module.exports = { report };
