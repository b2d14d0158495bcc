import * as childProcess from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { bundleScript, scriptsDirectory } from "../../components/workstation/scriptBundle";
import { CommandRun } from "./commandRunner";
import { hasCommand } from "./requirements";

/*
 * Runs the workstation scripts as their Commands do (`node -e <bundled text>`), inside a private mount namespace
 * (unshare --mount: bind mounts and a private /tmp seen by that process only) and as another user (setpriv), so the
 * tests meet real permissions, real mount points and a hostile user's files without touching the machine's own
 * /etc/hosts, /etc/docker or /tmp.
 */

/** Whether this machine can do that: root, unshare (mount and pid namespaces), setpriv and nsenter. */
export const canIsolate =
    process.getuid?.() === 0 &&
    hasCommand("unshare") &&
    hasCommand("setpriv") &&
    hasCommand("nsenter") &&
    childProcess.spawnSync("unshare", ["--mount", "--pid", "--fork", "--mount-proc", "true"]).status === 0;
export const isolationReason = "needs root, unshare (mount and pid namespaces), setpriv and nsenter (util-linux)";

export interface Identity {
    uid: number;
    gid: number;
}
/** The user who runs `pulumi up` in a test, when it is not root. */
export const operator: Identity = { uid: 4343, gid: 4343 };
/** Another local user, who plants files where it can. */
export const hostile: Identity = { uid: 4242, gid: 4242 };

export type Mount = { bind: [source: string, target: string] } | { tmpfs: string };

export interface IsolatedRun {
    /** The script's user; root when absent. */
    as?: Identity;
    /** Made in the namespace before anything runs, in order; a mount that fails stops the run before the script. */
    mounts?: Mount[];
    /** A private pid namespace too: the script is pid 1 there, a pid the test knows in advance. */
    ownPids?: boolean;
    /** Node programs run first inside the same namespace, each as its user (e.g. a hostile user's plant in /tmp). */
    before?: Array<{ as: Identity; code: string }>;
    /** A Node program run in the namespace after the script (which then is not the namespace's last process). */
    after?: { as: Identity; code: string };
    env: Record<string, string>;
}

// Reads its plan from its arguments (never from interpolated text): mounts, then steps, then "--" and the command.
const driver = `set -e
while [ "$1" != "--" ]; do
  case "$1" in
    bind) mount --bind "$2" "$3"; shift 3 ;;
    tmpfs) mount -t tmpfs -o mode=1777 tmpfs "$2"; shift 2 ;;
    as) setpriv --reuid "$2" --regid "$3" --clear-groups node -e "$4"; shift 4 ;;
    after) after_uid=$2; after_gid=$3; after_code=$4; shift 4 ;;
    *) echo "unknown step $1" >&2; exit 97 ;;
  esac
done
shift
if [ -z "\${after_code:-}" ]; then exec "$@"; fi
status=0
"$@" || status=$?
setpriv --reuid "$after_uid" --regid "$after_gid" --clear-groups node -e "$after_code"
exit $status`;

function argv(script: string, action: string, run: IsolatedRun): string[] {
    return namespaceArgv(["node", "-e", bundleScript(path.join(scriptsDirectory, script), action)], run);
}

/** unshare's arguments: the namespace, the driver and its plan, then the command, as run.as when given. */
function namespaceArgv(command: string[], run: IsolatedRun): string[] {
    const plan: string[] = [];
    for (const m of run.mounts ?? []) {
        plan.push(...("bind" in m ? ["bind", ...m.bind] : ["tmpfs", m.tmpfs]));
    }
    for (const step of run.before ?? []) {
        plan.push("as", String(step.as.uid), String(step.as.gid), step.code);
    }
    if (run.after) {
        plan.push("after", String(run.after.as.uid), String(run.after.as.gid), run.after.code);
    }
    const user = run.as
        ? ["setpriv", "--reuid", String(run.as.uid), "--regid", String(run.as.gid), "--clear-groups"]
        : [];
    return [
        "--mount",
        ...(run.ownPids ? ["--pid", "--fork", "--mount-proc"] : []),
        "sh",
        "-c",
        driver,
        "sh",
        ...plan,
        "--",
        ...user,
        ...command,
    ];
}

function environment(run: IsolatedRun): Record<string, string> {
    return { PATH: process.env.PATH ?? "/usr/bin:/bin", ...run.env };
}

function parsed(status: number | null, stdout: string, stderr: string): CommandRun {
    let result: any;
    try {
        result = status === 0 ? JSON.parse(stdout) : undefined;
    } catch (_) {
        result = undefined;
    }
    return { status, stdout, stderr, result };
}

/** Runs a script's action in its own namespace and waits for it. */
export function runIsolated(script: string, action: string, run: IsolatedRun): CommandRun {
    const r = childProcess.spawnSync("unshare", argv(script, action, run), { env: environment(run), encoding: "utf8" });
    return parsed(r.status, r.stdout, r.stderr);
}

/** The same, started: for a test that kills the script, or starts several at once. */
export function startIsolated(
    script: string,
    action: string,
    run: IsolatedRun,
): { child: childProcess.ChildProcess; done: Promise<CommandRun & { signal: NodeJS.Signals | null }> } {
    const child = childProcess.spawn("unshare", argv(script, action, run), { env: environment(run) });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", d => (stdout += d));
    child.stderr!.on("data", d => (stderr += d));
    const done = new Promise<CommandRun & { signal: NodeJS.Signals | null }>(resolve =>
        child.on("close", (status, signal) => resolve({ ...parsed(status, stdout, stderr), signal })),
    );
    return { child, done };
}

/** Runs any command (argv, no shell) in its own namespace as run says, and waits for it. */
export function runIsolatedCommand(command: string[], run: IsolatedRun): CommandRun {
    const r = childProcess.spawnSync("unshare", namespaceArgv(command, run), {
        env: environment(run),
        encoding: "utf8",
    });
    return parsed(r.status, r.stdout, r.stderr);
}

/**
 * The same, started in a process group of its own: `process.kill(-child.pid, signal)` reaches the command and every
 * process it started (unshare execs the driver, which execs the command: the child's pid is the command's).
 */
export function startIsolatedCommand(
    command: string[],
    run: IsolatedRun,
): { child: childProcess.ChildProcess; done: Promise<CommandRun & { signal: NodeJS.Signals | null }> } {
    const child = childProcess.spawn("unshare", namespaceArgv(command, run), { env: environment(run), detached: true });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", d => (stdout += d));
    child.stderr!.on("data", d => (stderr += d));
    const done = new Promise<CommandRun & { signal: NodeJS.Signals | null }>(resolve =>
        child.on("close", (status, signal) => resolve({ ...parsed(status, stdout, stderr), signal })),
    );
    return { child, done };
}

/**
 * Whether a started command has ended, read from /proc while this process cannot reap it (a test waiting
 * synchronously for something the command does): an ended child stays a zombie ("Z") until then.
 */
export function hasExited(pid: number): boolean {
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
    } catch (_) {
        return true;
    }
}

/**
 * A directory for one test's files, where other users can reach what the test lets them: not under /tmp, so a
 * private /tmp mounted in the namespace does not hide it.
 */
export function makeRoot(prefix: string): string {
    const base = fs.existsSync("/var/tmp") ? "/var/tmp" : os.tmpdir();
    const dir = fs.mkdtempSync(path.join(base, prefix));
    fs.chmodSync(dir, 0o755);
    return dir;
}

/** Makes a directory (and its parents) owned by who, with mode. */
export function makeDir(dir: string, who: Identity | null, mode: number): string {
    fs.mkdirSync(dir, { recursive: true });
    fs.chmodSync(dir, mode);
    if (who) {
        fs.chownSync(dir, who.uid, who.gid);
    }
    return dir;
}

/** Writes a file owned by who, with mode. */
export function makeFile(file: string, content: string | Buffer, who: Identity | null, mode = 0o644): string {
    fs.writeFileSync(file, content);
    fs.chmodSync(file, mode);
    if (who) {
        fs.chownSync(file, who.uid, who.gid);
    }
    return file;
}

/**
 * Every entry under dir, with its type, owner, mode and content hash: what "as it was" means when a test compares
 * a directory before and after.
 */
export function snapshot(dir: string): Record<string, string> {
    const out: Record<string, string> = {};
    const walk = (d: string) => {
        for (const name of fs.readdirSync(d).sort()) {
            const p = path.join(d, name);
            const st = fs.lstatSync(p);
            const rel = path.relative(dir, p);
            const meta = `${st.uid}:${st.gid} ${(st.mode & 0o7777).toString(8)}`;
            if (st.isDirectory()) {
                out[rel] = `dir ${meta}`;
                walk(p);
            } else if (st.isFile()) {
                out[rel] = `file ${meta} ${crypto.createHash("sha256").update(fs.readFileSync(p)).digest("hex")}`;
            } else {
                out[rel] = `other ${meta}`;
            }
        }
    };
    walk(dir);
    return out;
}

/** The machine's own files that no test may change: compared before and after a suite. */
export function machineFiles(): Record<string, string> {
    const hosts = fs.existsSync("/etc/hosts")
        ? crypto.createHash("sha256").update(fs.readFileSync("/etc/hosts")).digest("hex")
        : "absent";
    return { "/etc/hosts": hosts, ...(fs.existsSync("/etc/docker") ? snapshot("/etc/docker") : {}) };
}
