import * as childProcess from "child_process";

/** True when a program is on PATH. */
export function hasCommand(name: string): boolean {
    return childProcess.spawnSync("sh", ["-c", 'command -v "$1"', "sh", name], { stdio: "ignore" }).status === 0;
}

/**
 * `it` when the requirement is met, otherwise a skipped test whose name says why: a test that cannot
 * run on this machine shows up as skipped, with its reason, in the suite's summary (summaryReporter.js).
 */
export function itWhen(met: boolean, reason: string): jest.It {
    if (met) {
        return it;
    }
    const skip = ((name: string, fn?: jest.ProvidesCallback, timeout?: number) =>
        it.skip(`${name} [SKIPPED: ${reason}]`, fn, timeout)) as unknown as jest.It;
    return skip;
}
