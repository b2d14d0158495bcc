import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runCommandScript } from "../support/commandRunner";

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

    test("the lock lives beside the file: a lock another user makes under the old /tmp name blocks nothing", () => {
        const file = path.join(dir, "hosts");
        fs.writeFileSync(file, "127.0.0.1 localhost\n");
        // What a hostile local user could create in the shared /tmp, under the name the lock used to have.
        const id = crypto
            .createHash("sha256")
            .update(path.resolve(fs.realpathSync(file)))
            .digest("hex")
            .slice(0, 16);
        const squatted = path.join(os.tmpdir(), `distribution-registry-${id}.lock`);
        fs.mkdirSync(squatted, { recursive: true });
        try {
            const started = Date.now();
            const run = runCommandScript("hostsEntry.js", "add", hostsEnv(file));
            expect(run.stderr).toBe("");
            expect(Date.now() - started).toBeLessThan(10000);
            expect(fs.readdirSync(dir)).toEqual(["hosts"]);
        } finally {
            fs.rmdirSync(squatted);
        }
        const { lockPathFor } = require("../../components/workstation/scripts/lockedFile");
        expect(path.dirname(lockPathFor("/etc/hosts"))).toBe("/etc");
    }, 20000);

    test("a sudo mode that is not auto, always or never is refused before anything changes", () => {
        const file = path.join(dir, "hosts");
        fs.writeFileSync(file, "127.0.0.1 localhost\n");
        const run = runCommandScript("hostsEntry.js", "add", hostsEnv(file, { DR_SUDO: "sometimes" }));
        expect(run.status).toBe(1);
        expect(run.stderr).toMatch(/the sudo mode "sometimes" is not "auto", "always" or "never"/);
        expect(fs.readFileSync(file, "utf8")).toBe("127.0.0.1 localhost\n");
    });
});
