import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runCommandScript } from "../support/commandRunner";
import { makeSelfSignedCertificate } from "../support/tls";

/** A daemon.json as users write them: their own keys, order, spacing and a final newline. */
const userConfig =
    '{\n    "log-driver": "json-file",\n    "log-opts": { "max-size": "10m" },\n    "features": {"buildkit": true}\n}\n';

describe("docker trust script (the Command's create and delete, on temporary Docker directories)", () => {
    let dir: string;
    let daemonJson: string;
    let certsDir: string;
    const env = (extra: Record<string, string> = {}) => ({
        DR_TRUST_MODE: "insecure",
        DR_REGISTRY: "registry.test",
        DR_DAEMON_CONFIG: daemonJson,
        DR_CERTS_DIR: certsDir,
        DR_SUDO: "never",
        DR_OWNER: "project/dev/registry",
        ...extra,
    });
    /** Create, then delete with create's stdout in PULUMI_COMMAND_STDOUT, as Pulumi does. */
    const addThenRemove = (extra: Record<string, string> = {}) => {
        const created = runCommandScript("dockerTrust.js", "add", env(extra));
        expect(created.stderr.replace(/docker trust: daemon.json changed.*\n/, "")).toBe("");
        expect(created.status).toBe(0);
        const between = fs.existsSync(daemonJson) ? fs.readFileSync(daemonJson, "utf8") : null;
        const removed = runCommandScript(
            "dockerTrust.js",
            "remove",
            env({ ...extra, PULUMI_COMMAND_STDOUT: created.stdout }),
        );
        expect(removed.status).toBe(0);
        return { created, between };
    };
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "dr-docker-"));
        daemonJson = path.join(dir, "daemon.json");
        certsDir = path.join(dir, "certs.d");
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    test("insecure: adds the registry keeping every other key and byte; remove restores the file exactly", () => {
        fs.writeFileSync(daemonJson, userConfig);
        const { created, between } = addThenRemove();
        expect(JSON.parse(between!)).toEqual({ ...JSON.parse(userConfig), "insecure-registries": ["registry.test"] });
        expect(created.result).toMatchObject({ mode: "insecure", owner: "project/dev/registry", ledger: true });
        expect(fs.readFileSync(daemonJson, "utf8")).toBe(userConfig);
        expect(fs.readdirSync(dir)).toEqual(["daemon.json"]);
    });

    test("insecure: joins an existing list (empty or not) and takes only itself out again", () => {
        for (const start of [
            '{"insecure-registries": ["a.test:5000"], "debug": true}',
            '{ "insecure-registries": [ ] }',
            "{}",
            "{\n}\n",
        ]) {
            fs.writeFileSync(daemonJson, start);
            const { between } = addThenRemove();
            expect(JSON.parse(between!)["insecure-registries"]).toContain("registry.test");
            expect(fs.readFileSync(daemonJson, "utf8")).toBe(start);
        }
    });

    test("insecure: a registry already listed by the user is left there on delete", () => {
        const start = '{"insecure-registries": ["registry.test"]}\n';
        fs.writeFileSync(daemonJson, start);
        const { between } = addThenRemove();
        expect(between).toBe(start);
        expect(fs.readFileSync(daemonJson, "utf8")).toBe(start);
    });

    test("insecure: an update rerun keeps ownership, so delete still removes what the first run added", () => {
        fs.writeFileSync(daemonJson, userConfig);
        const first = runCommandScript("dockerTrust.js", "add", env());
        const rerun = runCommandScript("dockerTrust.js", "add", env({ PULUMI_COMMAND_STDOUT: first.stdout }));
        expect(rerun.status).toBe(0);
        runCommandScript("dockerTrust.js", "remove", env({ PULUMI_COMMAND_STDOUT: rerun.stdout }));
        expect(fs.readFileSync(daemonJson, "utf8")).toBe(userConfig);
    });

    test("insecure: a stack created before the ledger, updated and then destroyed, still removes what it added", () => {
        fs.writeFileSync(daemonJson, userConfig);
        // What the earlier version's create wrote and printed.
        fs.writeFileSync(daemonJson, userConfig.replace("{", '{\n  "insecure-registries": ["registry.test"],'));
        const legacy = JSON.stringify({
            mode: "insecure",
            file: daemonJson,
            registry: "registry.test",
            added: "key",
            createdFile: false,
        });
        const updated = runCommandScript("dockerTrust.js", "add", env({ PULUMI_COMMAND_STDOUT: legacy }));
        expect(updated.status).toBe(0);
        runCommandScript("dockerTrust.js", "remove", env({ PULUMI_COMMAND_STDOUT: updated.stdout }));
        expect(fs.readFileSync(daemonJson, "utf8")).toBe(userConfig);
        expect(fs.readdirSync(dir)).toEqual(["daemon.json"]);
    });

    test("insecure: a missing daemon.json is created and removed again", () => {
        const { between } = addThenRemove();
        expect(JSON.parse(between!)).toEqual({ "insecure-registries": ["registry.test"] });
        expect(fs.existsSync(daemonJson)).toBe(false);
    });

    test("insecure: a malformed daemon.json is a clear error and the file is left untouched", () => {
        for (const bad of [
            '{"debug": true,}',
            '["not", "an object"]',
            '{"insecure-registries": "registry.test"}',
            "\ufeff{",
            "{} {}",
        ]) {
            fs.writeFileSync(daemonJson, bad);
            const run = runCommandScript("dockerTrust.js", "add", env());
            expect(run.status).toBe(1);
            expect(run.stderr).toMatch(
                new RegExp(
                    `docker trust: dockerDaemonConfig ${daemonJson}.*(not valid JSON|not a JSON object|has "insecure-registries" that is not a list)`,
                ),
            );
            expect(run.stderr).toMatch(/left untouched/);
            expect(fs.readFileSync(daemonJson, "utf8")).toBe(bad);
        }
    });

    test("insecure: every form dockerd reads (empty, blank, a UTF-8 BOM) is edited and restored byte for byte", () => {
        for (const start of [
            "",
            "  \n",
            "\n\n",
            '\ufeff{"debug": true}\n',
            "\ufeff",
            "\ufeff \n",
            '\ufeff{"insecure-registries": []}',
        ]) {
            fs.writeFileSync(daemonJson, start);
            const { between } = addThenRemove();
            expect(JSON.parse(between!.replace(/^\ufeff/, ""))["insecure-registries"]).toEqual(["registry.test"]);
            expect(between!.startsWith("\ufeff")).toBe(start.startsWith("\ufeff"));
            expect(fs.readFileSync(daemonJson, "utf8")).toBe(start);
            expect(fs.readdirSync(dir)).toEqual(["daemon.json"]);
        }
    });

    test("insecure: a duplicate insecure-registries key is a clear error, not a crash, and the file is untouched", () => {
        const duplicate = '{"insecure-registries": ["a.test"], "insecure-registries": []}';
        fs.writeFileSync(daemonJson, duplicate);
        const run = runCommandScript("dockerTrust.js", "add", env());
        expect(run.status).toBe(1);
        expect(run.stderr).toMatch(
            /^docker trust: dockerDaemonConfig .* has "insecure-registries" 2 times, and dockerd reads only the last; it was left untouched\. Merge them/,
        );
        expect(fs.readFileSync(daemonJson, "utf8")).toBe(duplicate);
    });

    test("insecure: the restart command runs after a change (argv, no shell); a failing one puts daemon.json back", () => {
        fs.writeFileSync(daemonJson, userConfig);
        const marker = path.join(dir, "restarted");
        const ok = runCommandScript(
            "dockerTrust.js",
            "add",
            env({ DR_RESTART_COMMAND: JSON.stringify(["touch", marker]) }),
        );
        expect(ok.status).toBe(0);
        expect(fs.existsSync(marker)).toBe(true);
        runCommandScript("dockerTrust.js", "remove", env({ PULUMI_COMMAND_STDOUT: ok.stdout }));
        expect(fs.readFileSync(daemonJson, "utf8")).toBe(userConfig);
        const failing = runCommandScript(
            "dockerTrust.js",
            "add",
            env({ DR_RESTART_COMMAND: JSON.stringify(["false"]) }),
        );
        expect(failing.status).toBe(1);
        expect(failing.stderr).toMatch(/restart command \["false"\] failed.*put back as it was/);
        expect(fs.readFileSync(daemonJson, "utf8")).toBe(userConfig);
    });

    test("ca: writes the CA to <certsDir>/<registry>/ca.crt; destroy removes it and the directories it made", () => {
        const cert = makeSelfSignedCertificate(path.join(dir, "tls"), "registry.test");
        const extra = { DR_TRUST_MODE: "ca", DR_CA_CERTIFICATE: cert.certPem, DR_REGISTRY: "registry.test:8443" };
        const file = path.join(certsDir, "registry.test:8443", "ca.crt");
        const created = runCommandScript("dockerTrust.js", "add", env(extra));
        expect(`${created.status} ${created.stderr}`).toBe("0 ");
        expect(created.result).toMatchObject({ mode: "ca", file, added: true });
        // What Docker reads: the certificate itself, readable by everyone (as Docker's own files are).
        expect(fs.readFileSync(file, "utf8")).toBe(cert.certPem);
        expect(fs.statSync(file).mode & 0o777).toBe(0o644);
        const removed = runCommandScript(
            "dockerTrust.js",
            "remove",
            env({ ...extra, PULUMI_COMMAND_STDOUT: created.stdout }),
        );
        expect(`${removed.status} ${removed.stderr}`).toBe("0 ");
        expect(fs.readdirSync(dir)).toEqual(["tls"]);
    });

    test("ca: keeps a certs directory that holds other registries' files", () => {
        const cert = makeSelfSignedCertificate(path.join(dir, "tls"), "registry.test");
        fs.mkdirSync(path.join(certsDir, "other.test"), { recursive: true });
        fs.writeFileSync(path.join(certsDir, "other.test", "ca.crt"), "theirs");
        const created = runCommandScript(
            "dockerTrust.js",
            "add",
            env({ DR_TRUST_MODE: "ca", DR_CA_CERTIFICATE: cert.certPem }),
        );
        expect(fs.readFileSync(path.join(certsDir, "registry.test", "ca.crt"), "utf8")).toBe(cert.certPem);
        runCommandScript(
            "dockerTrust.js",
            "remove",
            env({ DR_TRUST_MODE: "ca", PULUMI_COMMAND_STDOUT: created.stdout }),
        );
        expect(fs.readdirSync(certsDir)).toEqual(["other.test"]);
        expect(fs.readFileSync(path.join(certsDir, "other.test", "ca.crt"), "utf8")).toBe("theirs");
    });

    test("ca: another stack's certificate for the registry is never replaced; its owner may update it", () => {
        const first = makeSelfSignedCertificate(path.join(dir, "tls1"), "registry.test").certPem;
        const second = makeSelfSignedCertificate(path.join(dir, "tls2"), "registry.test").certPem;
        const file = path.join(certsDir, "registry.test", "ca.crt");
        const a = runCommandScript(
            "dockerTrust.js",
            "add",
            env({ DR_TRUST_MODE: "ca", DR_CA_CERTIFICATE: first, DR_OWNER: "p/a/r" }),
        );
        const b = runCommandScript(
            "dockerTrust.js",
            "add",
            env({ DR_TRUST_MODE: "ca", DR_CA_CERTIFICATE: first, DR_OWNER: "p/b/r" }),
        );
        expect([a.status, b.status]).toEqual([0, 0]);
        const clash = runCommandScript(
            "dockerTrust.js",
            "add",
            env({ DR_TRUST_MODE: "ca", DR_CA_CERTIFICATE: second, DR_OWNER: "p/a/r", PULUMI_COMMAND_STDOUT: a.stdout }),
        );
        expect(clash.stderr).toMatch(/holds the certificate another stack \(p\/b\/r\) trusts/);
        expect(fs.readFileSync(file, "utf8")).toBe(first);
        runCommandScript(
            "dockerTrust.js",
            "remove",
            env({ DR_TRUST_MODE: "ca", DR_OWNER: "p/b/r", PULUMI_COMMAND_STDOUT: b.stdout }),
        );
        const update = runCommandScript(
            "dockerTrust.js",
            "add",
            env({ DR_TRUST_MODE: "ca", DR_CA_CERTIFICATE: second, DR_OWNER: "p/a/r", PULUMI_COMMAND_STDOUT: a.stdout }),
        );
        expect(update.status).toBe(0);
        expect(fs.readFileSync(file, "utf8")).toBe(second);
        runCommandScript(
            "dockerTrust.js",
            "remove",
            env({ DR_TRUST_MODE: "ca", DR_OWNER: "p/a/r", PULUMI_COMMAND_STDOUT: update.stdout }),
        );
        expect(fs.existsSync(certsDir)).toBe(false);
    });

    test("ca: someone else's certificate for the registry, or a non-certificate, is an error and nothing changes", () => {
        fs.mkdirSync(path.join(certsDir, "registry.test"), { recursive: true });
        fs.writeFileSync(path.join(certsDir, "registry.test", "ca.crt"), "theirs");
        const cert = makeSelfSignedCertificate(path.join(dir, "tls"), "registry.test");
        const clash = runCommandScript(
            "dockerTrust.js",
            "add",
            env({ DR_TRUST_MODE: "ca", DR_CA_CERTIFICATE: cert.certPem }),
        );
        expect(clash.stderr).toMatch(/already holds another certificate/);
        expect(fs.readFileSync(path.join(certsDir, "registry.test", "ca.crt"), "utf8")).toBe("theirs");
        const garbage = runCommandScript(
            "dockerTrust.js",
            "add",
            env({ DR_TRUST_MODE: "ca", DR_CA_CERTIFICATE: "not a certificate", DR_REGISTRY: "x.test" }),
        );
        expect(garbage.stderr).toMatch(/is not a PEM certificate.*nothing was changed/);
        expect(fs.existsSync(path.join(certsDir, "x.test"))).toBe(false);
    });

    test("shell metacharacters, quotes, spaces and newlines in the inputs are data, never code", () => {
        fs.writeFileSync(daemonJson, userConfig);
        const canary = path.join(dir, "pwned");
        const nasty = [
            `$(touch ${canary})`,
            `\`touch ${canary}\``,
            `"; touch ${canary}; "`,
            `a b\nc`,
            `x && touch ${canary}`,
        ];
        for (const value of nasty) {
            for (const key of ["DR_REGISTRY", "DR_CERTS_DIR", "DR_CA_CERTIFICATE", "DR_TRUST_MODE", "DR_SUDO"]) {
                runCommandScript("dockerTrust.js", "add", env({ [key]: value }));
            }
            runCommandScript("dockerTrust.js", "add", env({ DR_RESTART_COMMAND: JSON.stringify([value]) }));
        }
        expect(fs.existsSync(canary)).toBe(false);
        expect(JSON.parse(fs.readFileSync(daemonJson, "utf8"))["insecure-registries"]).toEqual(["registry.test"]);
    });
});
