import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as childProcess from "child_process";
import { bundleScript, scriptsDirectory } from "../../components/workstation/scriptBundle";
import { runCommandScript, runCommandScriptAsync } from "../support/commandRunner";
import { hasCommand, itWhen } from "../support/requirements";

const canMount =
    hasCommand("unshare") &&
    process.getuid?.() === 0 &&
    childProcess.spawnSync("unshare", ["--mount", "true"]).status === 0;

const original =
    "127.0.0.1\tlocalhost\n# a comment the user wrote\n::1 localhost ip6-localhost\n\n10.9.9.9 other.test # keep me\n";

describe("hosts entry script (the Command's create and delete, on a temporary hosts file)", () => {
    let dir: string;
    let file: string;
    const env = (extra: Record<string, string> = {}) => ({
        DR_HOSTS_FILE: file,
        DR_ADDRESS: "192.0.2.10",
        DR_HOSTNAME: "registry.test",
        DR_OWNER: "distribution-registry/dev/registry",
        DR_SUDO: "never",
        ...extra,
    });
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "dr-hosts-"));
        file = path.join(dir, "hosts");
        fs.writeFileSync(file, original);
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    test("add appends one marked line; add again adds no duplicate; remove restores the file byte for byte", () => {
        expect(runCommandScript("hostsEntry.js", "add", env()).status).toBe(0);
        const added = fs.readFileSync(file, "utf8");
        expect(added).toBe(
            `${original}192.0.2.10 registry.test # distribution-registry: distribution-registry/dev/registry\n`,
        );
        expect(runCommandScript("hostsEntry.js", "add", env()).status).toBe(0);
        expect(fs.readFileSync(file, "utf8")).toBe(added);
        expect(runCommandScript("hostsEntry.js", "remove", env()).status).toBe(0);
        expect(fs.readFileSync(file)).toEqual(Buffer.from(original));
    });

    test("an address change rewrites our line in place", () => {
        runCommandScript("hostsEntry.js", "add", env());
        fs.appendFileSync(file, "10.1.1.1 later.test\n");
        expect(runCommandScript("hostsEntry.js", "add", env({ DR_ADDRESS: "2001:db8::7" })).status).toBe(0);
        const lines = fs.readFileSync(file, "utf8").split("\n");
        expect(lines.filter(l => l.includes("registry.test"))).toEqual([
            "2001:db8::7 registry.test # distribution-registry: distribution-registry/dev/registry",
        ]);
        expect(lines[lines.length - 2]).toBe("10.1.1.1 later.test");
        runCommandScript("hostsEntry.js", "remove", env());
        expect(fs.readFileSync(file, "utf8")).toBe(`${original}10.1.1.1 later.test\n`);
    });

    test("a file without a final newline, and an empty file, come back byte for byte", () => {
        for (const start of ["127.0.0.1 localhost", ""]) {
            fs.writeFileSync(file, start);
            runCommandScript("hostsEntry.js", "add", env());
            expect(fs.readFileSync(file, "utf8")).toContain("192.0.2.10 registry.test");
            runCommandScript("hostsEntry.js", "remove", env());
            expect(fs.readFileSync(file, "utf8")).toBe(start);
        }
    });

    test("keeps the file's mode, and the path of a symlink", () => {
        fs.chmodSync(file, 0o640);
        const link = path.join(dir, "hosts-link");
        fs.symlinkSync(file, link);
        expect(runCommandScript("hostsEntry.js", "add", env({ DR_HOSTS_FILE: link })).status).toBe(0);
        expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
        expect(fs.statSync(file).mode & 0o777).toBe(0o640);
        expect(fs.readFileSync(file, "utf8")).toContain("registry.test");
    });

    test("six stacks adding at once all land; each removal, at once or one by one, takes out only its own line", async () => {
        const stack = (i: number) => ({
            DR_OWNER: `p/stack${i}/registry`,
            DR_HOSTNAME: `r${i}.test`,
            DR_ADDRESS: `192.0.2.${i + 1}`,
        });
        const line = (i: number) => `192.0.2.${i + 1} r${i}.test # distribution-registry: p/stack${i}/registry\n`;
        const runs = await Promise.all(
            Array.from({ length: 6 }, (_, i) => runCommandScriptAsync("hostsEntry.js", "add", env(stack(i)))),
        );
        expect(runs.map(r => `${r.status} ${r.stderr}`)).toEqual(runs.map(() => "0 "));
        // The user's lines first, as they were, then exactly one line per stack, in whatever order they landed.
        const ours = (text: string) => text.slice(original.length).match(/[^\n]*\n/g) ?? [];
        const added = fs.readFileSync(file, "utf8");
        expect(added.startsWith(original)).toBe(true);
        expect([...ours(added)].sort()).toEqual([0, 1, 2, 3, 4, 5].map(line).sort());
        // Three go at once, then the others one by one: after each, the lines left are exactly the others'.
        const removed = await Promise.all(
            [0, 2, 4].map(i => runCommandScriptAsync("hostsEntry.js", "remove", env(stack(i)))),
        );
        expect(removed.map(r => `${r.status} ${r.stderr}`)).toEqual(removed.map(() => "0 "));
        let left = [1, 3, 5];
        expect([...ours(fs.readFileSync(file, "utf8"))].sort()).toEqual(left.map(line).sort());
        for (const i of [3, 1, 5]) {
            expect(runCommandScript("hostsEntry.js", "remove", env(stack(i))).status).toBe(0);
            left = left.filter(j => j !== i);
            const text = fs.readFileSync(file, "utf8");
            expect(text.startsWith(original)).toBe(true);
            expect([...ours(text)].sort()).toEqual(left.map(line).sort());
        }
        expect(fs.readFileSync(file, "utf8")).toBe(original);
        expect(fs.readdirSync(dir)).toEqual(["hosts"]);
    });

    test("a line of someone else's mapping the hostname elsewhere is a clear error and nothing changes", () => {
        fs.appendFileSync(file, "198.51.100.1 registry.test\n");
        const before = fs.readFileSync(file);
        const run = runCommandScript("hostsEntry.js", "add", env());
        expect(run.status).toBe(1);
        expect(run.stderr).toMatch(/already maps registry.test to another address.*remove that line/);
        expect(fs.readFileSync(file)).toEqual(before);
    });

    test("a bad address or a missing file is a clear error and nothing changes", () => {
        const bad = runCommandScript("hostsEntry.js", "add", env({ DR_ADDRESS: "not-an-ip" }));
        expect(bad.status).toBe(1);
        expect(bad.stderr).toMatch(/address "not-an-ip" is not an IP address; nothing was changed/);
        const missing = runCommandScript("hostsEntry.js", "add", env({ DR_HOSTS_FILE: path.join(dir, "nope") }));
        expect(missing.stderr).toMatch(
            /^hosts entry: hostsFile: .* does not exist; nothing was changed\. Set hostsFile/,
        );
        expect(fs.readFileSync(file, "utf8")).toBe(original);
    });

    /** A directory with a `sudo` of ours first on PATH: this machine runs as root, where the real one never asks. */
    function fakeSudo(body: string): string {
        const bin = path.join(dir, "bin");
        fs.mkdirSync(bin);
        fs.writeFileSync(path.join(bin, "sudo"), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
        return `${bin}:${process.env.PATH}`;
    }

    test("through sudo: every privileged step gets its content on stdin, and only a path and nonces as arguments", () => {
        const log = path.join(dir, "sudo-args");
        // Records each call's arguments (one per line, a blank line after each call), then runs them without -n,
        // as a sudo that may would.
        const PATH = fakeSudo(`printf '%s\\n' "$@" '' >> "${log}"; shift; exec "$@"`);
        expect(runCommandScript("hostsEntry.js", "add", env({ DR_SUDO: "always", PATH })).status).toBe(0);
        expect(fs.readFileSync(file, "utf8")).toContain("192.0.2.10 registry.test");
        expect(runCommandScript("hostsEntry.js", "remove", env({ DR_SUDO: "always", PATH })).status).toBe(0);
        expect(fs.readFileSync(file, "utf8")).toBe(original);
        // Each call: -n, node, -e, the operation's own source, then the path it acts on, then only hex nonces,
        // lock generations, an encoding or a list of uids: never a value of the user's.
        const calls = fs
            .readFileSync(log, "utf8")
            .split(/\n\n(?=-n\n)/)
            .map(c => c.replace(/\n+$/, ""));
        const shapes = calls.map(call => {
            const [n, node, e, ...rest] = call.split("\n");
            const source = rest.findIndex(l => l.startsWith("process.stdout.write(String("));
            // The source ends with a newline: an empty line, then the path.
            const [end, target, ...args] = rest.slice(source + 1);
            const operation = /process\.stdout\.write\(String\((\w+)\(/.exec(rest[source])![1];
            const plain = args.every(a => /^([0-9a-f]{16}(-\d+)?|[df]\d+-\d+|utf8|base64|[\d,]+)$/.test(a));
            return `${n} ${node === process.execPath} ${e} ${operation} ${end === "" && target.startsWith(dir)} ${plain}`;
        });
        expect(shapes.length).toBeGreaterThan(0);
        expect(shapes).toContain("-n true -e writeFileAtomic true true");
        expect(shapes.filter(s => !/^-n true -e \w+ true true$/.test(s))).toEqual([]);
        expect(fs.readFileSync(log, "utf8")).not.toContain("192.0.2.10");
    });

    test("a sudo that wants a password is a clear error and the file is untouched", () => {
        const PATH = fakeSudo(`echo "sudo: a password is required" >&2; exit 1`);
        const run = runCommandScript("hostsEntry.js", "add", env({ DR_SUDO: "always", PATH }));
        expect(run.status).toBe(1);
        expect(run.stderr).toMatch(/sudo -n could not change .*a password is required.*Run `sudo -v`/);
        expect(fs.readFileSync(file, "utf8")).toBe(original);
    });

    itWhen(canMount, "needs root and unshare --mount")(
        "a hosts file that is a mount point (/etc/hosts in a container) is rewritten in place",
        () => {
            // Inside a private mount namespace, bind-mount `file` over `target`: rename onto target fails with EBUSY there.
            const target = path.join(dir, "mounted-hosts");
            fs.writeFileSync(target, "not this one\n");
            const text = bundleScript(path.join(scriptsDirectory, "hostsEntry.js"), "add");
            const run = childProcess.spawnSync(
                "unshare",
                ["--mount", "sh", "-c", 'mount --bind "$1" "$2" && exec node -e "$3"', "sh", file, target, text],
                { env: { ...process.env, ...env({ DR_HOSTS_FILE: target }) }, encoding: "utf8" },
            );
            expect(run.stderr).toBe("");
            expect(run.status).toBe(0);
            expect(fs.readFileSync(file, "utf8")).toBe(
                `${original}192.0.2.10 registry.test # distribution-registry: distribution-registry/dev/registry\n`,
            );
            expect(fs.readFileSync(target, "utf8")).toBe("not this one\n");
        },
    );

    test("shell metacharacters, quotes, spaces and newlines in the inputs are data, never code", () => {
        const canary = path.join(dir, "pwned");
        const nasty = [
            `$(touch ${canary})`,
            `\`touch ${canary}\``,
            `"; touch ${canary}; "`,
            `'; touch ${canary}; '`,
            `a b\nc`,
            `x && touch ${canary}`,
        ];
        for (const value of nasty) {
            for (const key of ["DR_ADDRESS", "DR_HOSTNAME", "DR_OWNER", "DR_HOSTS_FILE", "DR_SUDO"]) {
                runCommandScript("hostsEntry.js", "add", env({ [key]: value }));
            }
        }
        expect(fs.existsSync(canary)).toBe(false);
        // Whatever was accepted stays in one line of ours per owner, and the user's lines are untouched.
        expect(fs.readFileSync(file, "utf8").startsWith(original)).toBe(true);
        const ownerWithQuotes = `p/"st'ack $(x)"/r`;
        expect(runCommandScript("hostsEntry.js", "add", env({ DR_OWNER: ownerWithQuotes })).status).toBe(0);
        expect(fs.readFileSync(file, "utf8")).toContain(`# distribution-registry: ${ownerWithQuotes}\n`);
    });
});
