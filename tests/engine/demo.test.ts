import * as childProcess from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { itWhen } from "../support/requirements";
import { machineState, whyNotRunnable } from "./realNode";

/*
 * `npm run demo` as a user runs it, on a machine whose /etc/hosts and /etc/docker are this test's copies (a private
 * mount namespace stands in for the machine): it reaches the URL it prints, the push and pull commands it prints
 * work, and `npm run demo:down` puts the machine back.
 */
const why = whyNotRunnable();
const demo = itWhen(why === undefined, why ?? "");
const repo = path.join(__dirname, "..", "..");

let work: string;
let holder: childProcess.ChildProcess | undefined;
let hostsCopy: string;
let dockerCopy: string;
let hostsBefore: Buffer;
let machineBefore: Record<string, string>;
let demoOutput = "";

/** Runs a command in the stand-in machine (the holder's mount namespace). */
function onMachine(command: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; output: string } {
    const r = childProcess.spawnSync(
        "nsenter",
        [`--mount=/proc/${holder!.pid}/ns/mnt`, `--wd=${repo}`, "--", ...command],
        {
            cwd: repo,
            encoding: "utf8",
            env: { ...process.env, DR_DEMO_DIR: path.join(work, "demo"), ...env },
            maxBuffer: 64 * 1024 * 1024,
        },
    );
    return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

/** The tree of a directory, with each file's bytes: what "as it was" compares. */
function tree(dir: string): Record<string, string> {
    const all: Record<string, string> = {};
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        Object.assign(all, e.isDirectory() ? { [p]: "<dir>", ...tree(p) } : { [p]: fs.readFileSync(p, "base64") });
    }
    return all;
}

let dockerBefore: Record<string, string>;

beforeAll(async () => {
    if (why) {
        return;
    }
    work = fs.mkdtempSync(path.join(os.tmpdir(), "dr-demo-test-"));
    hostsCopy = path.join(work, "hosts");
    fs.copyFileSync("/etc/hosts", hostsCopy);
    hostsBefore = fs.readFileSync(hostsCopy);
    dockerCopy = path.join(work, "etc-docker");
    fs.mkdirSync(dockerCopy);
    fs.writeFileSync(path.join(dockerCopy, "daemon.json"), "{}\n");
    dockerBefore = tree(dockerCopy);
    machineBefore = machineState();
    holder = childProcess.spawn(
        "unshare",
        [
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            'mount --bind "$1" /etc/hosts && mount --bind "$2" /etc/docker && echo ready && exec sleep 86400',
            "sh",
            hostsCopy,
            dockerCopy,
        ],
        { stdio: ["ignore", "pipe", "inherit"] },
    );
    await new Promise<void>((resolve, reject) => {
        holder!.stdout!.once("data", () => resolve());
        holder!.once("exit", code => reject(new Error(`the mount namespace holder exited (${code})`)));
    });
}, 60000);

afterAll(() => {
    if (!work) {
        return;
    }
    // If a step failed, the demo may still run: take it down, then end the namespace.
    if (fs.existsSync(path.join(work, "demo", "demo.json"))) {
        onMachine(["npm", "run", "demo:down"]);
    }
    holder?.kill("SIGKILL");
    fs.rmSync(work, { recursive: true, force: true });
}, 600000);

describe("npm run demo", () => {
    demo("brings the registry up with the default config, each phase timed, and prints its URL", () => {
        const r = onMachine(["npm", "run", "demo"]);
        demoOutput = r.output;
        expect(`exit ${r.status}\n${r.output.split("\n").slice(-15).join("\n")}`).toMatch(/^exit 0\n/);
        expect(r.output).toMatch(/^\[demo 1\] .* \.\.\.$/m);
        expect(r.output).toMatch(/^\[demo 3\] pulumi up of this program.*: done in \d+\.\d s$/m);
        expect(r.output).toContain("The registry is running at https://registry.test (answering 401");
        // The default config: the generated CA, trusted by Docker through certs.d (daemon.json untouched).
        expect(fs.readFileSync(path.join(dockerCopy, "daemon.json"), "utf8")).toBe("{}\n");
        expect(fs.readFileSync(path.join(dockerCopy, "certs.d", "registry.test", "ca.crt"), "utf8")).toContain(
            "BEGIN CERTIFICATE",
        );
        expect(fs.readFileSync(hostsCopy, "utf8")).toMatch(/^127\.0\.0\.2 registry\.test # distribution-registry: /m);
        // The password is in a 0600 file, never in what was printed.
        const passwordFile = path.join(work, "demo", "password");
        expect(fs.statSync(passwordFile).mode & 0o777).toBe(0o600);
        expect(r.output).not.toContain(fs.readFileSync(passwordFile, "utf8"));
    });

    demo("the printed login, push and pull commands work from this machine", () => {
        const commands = demoOutput
            .split("\n")
            .filter(l => /^ {2}skopeo /.test(l))
            .map(l => l.trim());
        expect(commands.map(c => c.split(" ")[1])).toEqual(["login", "copy", "inspect", "copy"]);
        const results = commands.map(c => onMachine(["sh", "-c", c]));
        expect(results.map(r => (r.status === 0 ? 0 : `exit ${r.status}: ${r.output.trim()}`))).toEqual([0, 0, 0, 0]);
        // The inspect of the tag just pushed names it; the pull left an OCI layout with the manifest.
        expect(JSON.parse(results[2].output.slice(results[2].output.indexOf("{"))).Name).toBe("registry.test/hello");
        expect(fs.existsSync(path.join(work, "demo", "pulled", "index.json"))).toBe(true);
    });

    demo("npm run demo:down destroys it, stops the cluster and leaves the machine as it was", () => {
        const r = onMachine(["npm", "run", "demo:down"]);
        expect(`exit ${r.status}\n${r.output.split("\n").slice(-15).join("\n")}`).toMatch(/^exit 0\n/);
        expect(r.output).toContain("The machine is as it was before the demo");
        expect(fs.readFileSync(hostsCopy)).toEqual(hostsBefore);
        expect(tree(dockerCopy)).toEqual(dockerBefore);
        expect(fs.existsSync(path.join(work, "demo"))).toBe(false);
        expect(machineState()).toEqual(machineBefore);
    });
});
