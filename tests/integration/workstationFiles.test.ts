import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runCommandScript } from "../support/commandRunner";
import { canIsolate, hostile, isolationReason, makeDir, makeFile, makeRoot, runIsolated } from "../support/isolation";
import { itWhen } from "../support/requirements";

/** How the workstation scripts meet files that are not what they should be, and a shared temp directory. */
describe("workstation scripts and their files", () => {
    let dir: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "dr-files-"));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
    const hostsEnv = (file: string, extra: Record<string, string> = {}) => ({
        DR_HOSTS_FILE: file,
        DR_ADDRESS: "2001:db8::1",
        DR_HOSTNAME: "registry.test",
        DR_OWNER: "p/s/r",
        DR_SUDO: "never",
        ...extra,
    });
    const trustEnv = (file: string) => ({
        DR_TRUST_MODE: "insecure",
        DR_REGISTRY: "registry.test",
        DR_DAEMON_CONFIG: file,
        DR_CERTS_DIR: path.join(dir, "certs.d"),
        DR_SUDO: "never",
        DR_OWNER: "p/s/r",
    });

    test("a file error names the config key and the fix, never a bare ENOENT or EISDIR", () => {
        const notADir = path.join(dir, "plain");
        fs.writeFileSync(notADir, "x");
        const cases: Array<[string, string, Record<string, string>, RegExp]> = [
            [
                "hosts file is a directory",
                "hostsEntry.js",
                hostsEnv(dir),
                /^hosts entry: hostsFile: .* is a directory, not a file \(EISDIR\); nothing was changed\. Set hostsFile to the file itself/,
            ],
            [
                "hosts file under a file",
                "hostsEntry.js",
                hostsEnv(path.join(notADir, "hosts")),
                /^hosts entry: hostsFile: .*(not a directory|does not exist).* Set hostsFile to the right path/,
            ],
            [
                "hosts file in a missing directory",
                "hostsEntry.js",
                hostsEnv(path.join(dir, "none", "hosts")),
                /^hosts entry: hostsFile: .*does not exist.* Set hostsFile to the right path/,
            ],
            [
                "daemon.json is a directory",
                "dockerTrust.js",
                trustEnv(dir),
                /^docker trust: dockerDaemonConfig: .* is a directory, not a file \(EISDIR\); nothing was changed\. Set dockerDaemonConfig to the file itself/,
            ],
        ];
        expect(cases).toHaveLength(4);
        for (const [name, script, env, message] of cases) {
            const run = runCommandScript(script, "add", env);
            expect(`${name}: ${run.stderr.split("\n")[0]}`).toMatch(new RegExp(`^${name}: ${message.source.slice(1)}`));
            expect(run.stderr).not.toMatch(/^Error|\n\s+at /);
        }
    });

    test("the shadow check compares host names without case and addresses by value", () => {
        const file = path.join(dir, "hosts");
        for (const [line, conflicts] of [
            ["2001:DB8:0::1 registry.test\n", false],
            ["2001:DB8:0::1 Registry.Test\n", false],
            ["2001:db8:0:0:0:0:0:1 REGISTRY.TEST\n", false],
            ["2001:db8::2 Registry.TEST\n", true],
            ["192.0.2.9 registry.test\n", true],
        ] as Array<[string, boolean]>) {
            fs.writeFileSync(file, line);
            const run = runCommandScript("hostsEntry.js", "add", hostsEnv(file));
            expect(`${line.trim()}: ${run.status === 0 ? "accepted" : run.stderr.trim()}`).toMatch(
                conflicts ? /already maps registry\.test to another address/ : /: accepted$/,
            );
        }
    });

    itWhen(canIsolate, isolationReason)(
        "the lock lives beside the file: another user's directory at the old /tmp lock name blocks nothing",
        () => {
            const root = makeRoot("dr-files-");
            try {
                const etc = makeDir(path.join(root, "etc"), null, 0o755);
                const file = makeFile(path.join(etc, "hosts"), "127.0.0.1 localhost\n", null);
                // The name the lock had in the shared /tmp, made there first by another local user (in a /tmp of this
                // run only, so the machine's own is never touched).
                const id = crypto.createHash("sha256").update(path.resolve(file)).digest("hex").slice(0, 16);
                const squatted = `/tmp/distribution-registry-${id}.lock`;
                const run = runIsolated("hostsEntry.js", "add", {
                    mounts: [{ tmpfs: "/tmp" }],
                    before: [{ as: hostile, code: `require("fs").mkdirSync(${JSON.stringify(squatted)})` }],
                    env: hostsEnv(file),
                });
                expect(run.stderr).toBe("");
                expect(run.status).toBe(0);
                expect(fs.readFileSync(file, "utf8")).toBe(
                    "127.0.0.1 localhost\n2001:db8::1 registry.test # distribution-registry: p/s/r\n",
                );
                expect(fs.readdirSync(etc)).toEqual(["hosts"]);
            } finally {
                fs.rmSync(root, { recursive: true, force: true });
            }
            const { lockPathFor } = require("../../components/workstation/scripts/lockedFile");
            expect(lockPathFor("/etc/hosts")).toBe("/etc/.hosts.distribution-registry.lock");
        },
    );

    test("a sudo mode that is not auto, always or never is refused before anything changes", () => {
        const file = path.join(dir, "hosts");
        fs.writeFileSync(file, "127.0.0.1 localhost\n");
        const run = runCommandScript("hostsEntry.js", "add", hostsEnv(file, { DR_SUDO: "sometimes" }));
        expect(run.status).toBe(1);
        expect(run.stderr).toMatch(/the sudo mode "sometimes" is not "auto", "always" or "never"/);
        expect(fs.readFileSync(file, "utf8")).toBe("127.0.0.1 localhost\n");
    });
});
