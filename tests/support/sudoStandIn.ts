import * as childProcess from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { Identity, makeDir } from "./isolation";

/**
 * A `sudo` for a test that runs the scripts as another user on a machine without sudo: a `sudo` on PATH that sends
 * its arguments and standard input to this (root) process, which runs them as root and sends back their output and
 * exit status, as `sudo -n` does for a user who may: in the caller's mount namespace (nsenter), as sudo would.
 * Only `-n` is accepted (the scripts never let sudo ask).
 * The socket lives in a directory only that user (and root) can enter.
 */
export interface SudoStandIn {
    /** Put first on PATH. */
    bin: string;
    /** The operations the scripts ran through it, in order: the name of the function each call's source runs. */
    operations: string[];
    close(): Promise<void>;
}

export async function startSudoStandIn(dir: string, user: Identity): Promise<SudoStandIn> {
    const home = makeDir(path.join(dir, "sudo-stand-in"), user, 0o700);
    const socket = path.join(home, "socket");
    const operations: string[] = [];
    const server = net.createServer(connection => {
        let request = "";
        connection.on("data", d => (request += d));
        connection.on("end", () => {
            const { args, input, pid } = JSON.parse(request) as { args: string[]; input: string; pid: number };
            let reply: { status: number; stdout: string; stderr: string };
            if (args[0] !== "-n") {
                reply = { status: 1, stdout: "", stderr: "sudo: a password is required" };
            } else {
                const source = args[3] ?? "";
                const called = /process\.stdout\.write\(String\((\w+)\(/.exec(source);
                operations.push(called ? called[1] : args.slice(1).join(" "));
                const r = childProcess.spawnSync(
                    "nsenter",
                    ["--target", String(pid), "--mount", "--", args[1], ...args.slice(2)],
                    { input, encoding: "utf8" },
                );
                reply = { status: r.status ?? 1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
            }
            connection.end(JSON.stringify(reply));
        });
    });
    await new Promise<void>(resolve => server.listen(socket, resolve));
    fs.chownSync(socket, user.uid, user.gid);
    const client = path.join(home, "client.js");
    fs.writeFileSync(
        client,
        `const net = require("net");
const input = require("fs").readFileSync(0, "utf8");
const c = net.connect(${JSON.stringify(socket)}, () => c.end(JSON.stringify({ args: process.argv.slice(2), input, pid: process.pid })));
let reply = "";
c.on("data", d => (reply += d));
c.on("end", () => {
    const r = JSON.parse(reply);
    process.stdout.write(r.stdout);
    process.stderr.write(r.stderr);
    process.exitCode = r.status;
});
`,
    );
    const bin = makeDir(path.join(home, "bin"), user, 0o755);
    fs.writeFileSync(path.join(bin, "sudo"), `#!/bin/sh\nexec ${process.execPath} ${client} "$@"\n`, { mode: 0o755 });
    return {
        bin,
        operations,
        close: () => new Promise<void>(resolve => server.close(() => resolve())),
    };
}
