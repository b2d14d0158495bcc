import * as childProcess from "child_process";
import * as fs from "fs";
import { registryV3Binary, whyNoPodLayout } from "./registryProcess";

/** True when a program is on PATH. */
export function hasCommand(name: string): boolean {
    return childProcess.spawnSync("sh", ["-c", 'command -v "$1"', "sh", name], { stdio: "ignore" }).status === 0;
}

/** What of these programs is missing, as a skip reason ("needs skopeo, openssl"), or undefined when all are there. */
export function needsCommands(...names: string[]): string | undefined {
    const missing = names.filter(n => !hasCommand(n));
    return missing.length ? `needs ${missing.join(", ")}` : undefined;
}

/**
 * Why a real registry cannot run here, or undefined: Debian's docker-registry (2.8), or with `version` 3 the
 * Distribution 3.x that tests/support/build-registry-v3.sh builds, run in the pod's layout (registryProcess.ts).
 */
export function whyNoRegistry(version: 2 | 3 = 2): string | undefined {
    if (version === 3 && !fs.existsSync(registryV3Binary)) {
        return "registry 3.x not built: run tests/support/build-registry-v3.sh";
    }
    return (version === 2 ? needsCommands("docker-registry") : undefined) ?? whyNoPodLayout();
}

/** The first reason given, or undefined when every requirement is met. */
export function firstReason(...reasons: (string | undefined)[]): string | undefined {
    return reasons.find(r => r !== undefined);
}

/**
 * `it` when the requirement is met, otherwise a skipped test whose name says why: a test that cannot
 * run on this machine shows up as skipped, with its reason, in the suite's summary (summaryReporter.js),
 * and fails the run unless it is listed in allowedSkips.js.
 */
export function itWhen(met: boolean, reason: string): jest.It {
    if (met) {
        return it;
    }
    const skip = ((name: string, fn?: jest.ProvidesCallback, timeout?: number) =>
        it.skip(`${name} [SKIPPED: ${reason}]`, fn, timeout)) as unknown as jest.It;
    return skip;
}

/** `it` when `why` is undefined, else a test skipped with `why` as its reason (itWhen). */
export function itUnless(why: string | undefined): jest.It {
    return itWhen(why === undefined, why ?? "");
}

/** Polls `check` every 20 ms until it holds, or fails after `timeoutMs` naming what it waited for. */
export async function waitUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30000) {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
        if (Date.now() > deadline) {
            throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
        }
        await new Promise(r => setTimeout(r, 20));
    }
}
