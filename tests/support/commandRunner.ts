import * as childProcess from "child_process";
import * as path from "path";
import { bundleScript, scriptsDirectory } from "../../components/workstation/scriptBundle";

export interface CommandRun {
    status: number | null;
    stdout: string;
    stderr: string;
    /** stdout parsed as the script's JSON result (undefined when it failed). */
    result: any;
}

/**
 * Runs a workstation script the way the Command resource does: `node -e <bundled text>`, values in the
 * environment, the password on stdin, PULUMI_COMMAND_STDOUT from the previous run for a delete.
 */
export function runCommandScript(script: string, action: string, env: Record<string, string>, stdin = ""): CommandRun {
    const text = bundleScript(path.join(scriptsDirectory, script), action);
    const r = childProcess.spawnSync("node", ["-e", text], {
        env: {
            PATH: process.env.PATH ?? "/usr/bin:/bin",
            HOME: process.env.HOME ?? "/root",
            TMPDIR: process.env.TMPDIR ?? "/tmp",
            ...env,
        },
        input: stdin,
        encoding: "utf8",
    });
    let result: any;
    try {
        result = r.status === 0 ? JSON.parse(r.stdout) : undefined;
    } catch (_) {
        result = undefined;
    }
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, result };
}

/** The same, started asynchronously: for tests that run two at once. */
export function runCommandScriptAsync(
    script: string,
    action: string,
    env: Record<string, string>,
    stdin = "",
): Promise<CommandRun> {
    const text = bundleScript(path.join(scriptsDirectory, script), action);
    return new Promise(resolve => {
        const child = childProcess.spawn("node", ["-e", text], {
            env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
        });
        child.stdin.end(stdin);
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", d => {
            stdout += d;
        });
        child.stderr.on("data", d => {
            stderr += d;
        });
        child.on("close", status =>
            resolve({ status, stdout, stderr, result: status === 0 ? JSON.parse(stdout) : undefined }),
        );
    });
}
