import * as childProcess from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CommandRun, runCommandScript } from "../support/commandRunner";
import { snapshot } from "../support/isolation";
import { lockRecord } from "../support/lockRecord";
import { makeSelfSignedCertificate } from "../support/tls";

/*
 * A stack keeps the scripts it was created with in its state, and its destroy runs that text: stacks created before
 * issue 20 run the previous version's scripts (fixtures/previous-scripts: their bundled text, byte for byte) for
 * months, on the same files as stacks of this version. Each reads what the other writes, and a record it cannot
 * follow makes it stop rather than do harm.
 */
function previousText(script: string, action: string): string {
    const name = `${path.basename(script, ".js")}.add.txt`;
    const text = fs.readFileSync(path.join(__dirname, "fixtures", "previous-scripts", name), "utf8");
    const last = '.run("add");\n';
    expect(text.endsWith(last)).toBe(true);
    return `${text.slice(0, -last.length)}.run(${JSON.stringify(action)});\n`;
}

function runPrevious(script: string, action: string, env: Record<string, string>): CommandRun {
    const r = childProcess.spawnSync("node", ["-e", previousText(script, action)], {
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
        encoding: "utf8",
    });
    return {
        status: r.status,
        stdout: r.stdout,
        stderr: r.stderr,
        result: r.status === 0 ? JSON.parse(r.stdout) : undefined,
    };
}

const userHosts = "127.0.0.1\tlocalhost\n# the user's own comment\n10.0.0.5 build.internal\n";
const userDaemonJson = '{\n    "log-driver": "json-file",\n    "features": {"buildkit": true}\n}\n';
const restartNotice = /docker trust: daemon.json changed.*\n/;

describe("stacks of the previous version and of this one on the same workstation files", () => {
    let dir: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "dr-previous-"));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    const cases: Array<[string, "previous" | "current", "previous" | "current"]> = [
        ["the previous version's stack first, and destroyed first", "previous", "previous"],
        ["the previous version's stack first, and destroyed last", "previous", "current"],
        ["this version's stack first, and destroyed first", "current", "current"],
        ["this version's stack first, and destroyed last", "current", "previous"],
    ];
    test.each(cases)(
        "hosts lines, one insecure registry and one ca.crt shared, %s: everything comes back as it was",
        (_name, createdFirst, destroyedFirst) => {
            const work = path.join(dir, "work");
            const docker = path.join(work, "docker");
            fs.mkdirSync(docker, { recursive: true });
            const hosts = path.join(work, "hosts");
            fs.writeFileSync(hosts, userHosts);
            fs.writeFileSync(path.join(docker, "daemon.json"), userDaemonJson);
            const cert = makeSelfSignedCertificate(path.join(dir, "tls"), "shared.test").certPem;
            const before = snapshot(work);
            const stacks = {
                previous: { owner: "p/old/r", hostname: "old.test" },
                current: { owner: "p/new/r", hostname: "new.test" },
            };
            type Version = keyof typeof stacks;
            const run = (version: Version, script: string, action: string, env: Record<string, string>) =>
                version === "previous" ? runPrevious(script, action, env) : runCommandScript(script, action, env);
            const envs = (version: Version) => ({
                hosts: {
                    DR_HOSTS_FILE: hosts,
                    DR_ADDRESS: "192.0.2.10",
                    DR_HOSTNAME: stacks[version].hostname,
                    DR_OWNER: stacks[version].owner,
                    DR_SUDO: "never",
                },
                insecure: {
                    DR_TRUST_MODE: "insecure",
                    DR_REGISTRY: "shared.test",
                    DR_DAEMON_CONFIG: path.join(docker, "daemon.json"),
                    DR_CERTS_DIR: "",
                    DR_SUDO: "never",
                    DR_OWNER: stacks[version].owner,
                },
                ca: {
                    DR_TRUST_MODE: "ca",
                    DR_REGISTRY: "shared.test",
                    DR_DAEMON_CONFIG: "",
                    DR_CERTS_DIR: path.join(docker, "certs.d"),
                    DR_CA_CERTIFICATE: cert,
                    DR_SUDO: "never",
                    DR_OWNER: stacks[version].owner,
                },
            });
            const other = (v: Version): Version => (v === "previous" ? "current" : "previous");
            const created: Record<string, Record<string, CommandRun>> = {};
            for (const version of [createdFirst, other(createdFirst)]) {
                created[version] = {};
                for (const [step, script] of [
                    ["hosts", "hostsEntry.js"],
                    ["insecure", "dockerTrust.js"],
                    ["ca", "dockerTrust.js"],
                ] as const) {
                    const r = run(version, script, "add", envs(version)[step]);
                    expect(`${version} ${step}: ${r.status} ${r.stderr.replace(restartNotice, "")}`).toBe(
                        `${version} ${step}: 0 `,
                    );
                    created[version][step] = r;
                }
            }
            for (const version of [destroyedFirst, other(destroyedFirst)]) {
                for (const [step, script] of [
                    ["hosts", "hostsEntry.js"],
                    ["insecure", "dockerTrust.js"],
                    ["ca", "dockerTrust.js"],
                ] as const) {
                    const r = run(version, script, "remove", {
                        ...envs(version)[step],
                        PULUMI_COMMAND_STDOUT: created[version][step].stdout,
                    });
                    expect(`${version} ${step}: ${r.status} ${r.stderr.replace(restartNotice, "")}`).toBe(
                        `${version} ${step}: 0 `,
                    );
                }
                if (version === destroyedFirst) {
                    // The other stack still has what it needs.
                    const left = other(version);
                    expect([
                        fs.readFileSync(hosts, "utf8").includes(`# distribution-registry: ${stacks[left].owner}`),
                        fs.readFileSync(path.join(docker, "daemon.json"), "utf8").includes('"shared.test"'),
                        fs.existsSync(path.join(docker, "certs.d", "shared.test", "ca.crt")),
                    ]).toEqual([true, true, true]);
                }
            }
            expect(snapshot(work)).toEqual(before);
        },
        60000,
    );

    // Two stacks of the previous version alone behave as before (the defect this version fixes: the one that made
    // certs.d, if destroyed first, leaves it behind); every pairing with a stack of this version cleans up.
    test("two registries in a certs.d that did not exist, either version first: whichever goes last removes it", () => {
        const certs = {
            a: makeSelfSignedCertificate(path.join(dir, "tls-a"), "a.test").certPem,
            b: makeSelfSignedCertificate(path.join(dir, "tls-b"), "b.test").certPem,
        };
        const pairings: Array<[Record<"a" | "b", "previous" | "current">, Array<"a" | "b">]> = [];
        for (const a of ["previous", "current"] as const) {
            for (const b of ["previous", "current"] as const) {
                if (a === "current" || b === "current") {
                    pairings.push([{ a, b }, ["a", "b"]], [{ a, b }, ["b", "a"]]);
                }
            }
        }
        // Three pairings with a current version in them, each destroyed in both orders.
        expect(pairings.map(([, order]) => order.length)).toEqual([2, 2, 2, 2, 2, 2]);
        for (const [versions, order] of pairings) {
            expect(order).toHaveLength(2);
            const docker = path.join(dir, "docker");
            fs.rmSync(docker, { recursive: true, force: true });
            fs.mkdirSync(docker);
            const env = (s: "a" | "b") => ({
                DR_TRUST_MODE: "ca",
                DR_REGISTRY: `${s}.test`,
                DR_DAEMON_CONFIG: "",
                DR_CERTS_DIR: path.join(docker, "certs.d"),
                DR_CA_CERTIFICATE: certs[s],
                DR_SUDO: "never",
                DR_OWNER: `p/${s}/r`,
            });
            const run = (s: "a" | "b", action: string, extra: Record<string, string> = {}) =>
                versions[s] === "previous"
                    ? runPrevious("dockerTrust.js", action, { ...env(s), ...extra })
                    : runCommandScript("dockerTrust.js", action, { ...env(s), ...extra });
            const created = { a: run("a", "add"), b: run("b", "add") };
            const label = `a ${versions.a}, b ${versions.b}, destroyed ${order.join(" then ")}`;
            expect(`${label}: ${created.a.status} ${created.b.status}`).toBe(`${label}: 0 0`);
            for (const s of order) {
                const r = run(s, "remove", { PULUMI_COMMAND_STDOUT: created[s].stdout });
                expect(`${label}: ${r.status} ${r.stderr}`).toBe(`${label}: 0 `);
            }
            expect(`${label}: ${fs.readdirSync(docker).join(" ")}`).toBe(`${label}: `);
        }
        expect(pairings).toHaveLength(6);
    }, 120000);

    test("a previous-version run meeting a lock of this version whose holder is gone waits, then gives up without touching it", () => {
        const hosts = path.join(dir, "hosts");
        fs.writeFileSync(hosts, userHosts);
        const lock = path.join(dir, ".hosts.distribution-registry.lock");
        fs.writeFileSync(lock, lockRecord(childProcess.spawnSync("true").pid!, null), { mode: 0o644 });
        const env = {
            DR_HOSTS_FILE: hosts,
            DR_ADDRESS: "192.0.2.10",
            DR_HOSTNAME: "old.test",
            DR_OWNER: "p/old/r",
            DR_SUDO: "never",
        };
        const stale = new Date(Date.now() - 600000);
        fs.utimesSync(lock, stale, stale);
        const old = runPrevious("hostsEntry.js", "add", env);
        expect(old.status).toBe(1);
        expect(old.stderr).toMatch(/^hosts entry: timed out after 60 s waiting for the lock/);
        expect(fs.readFileSync(hosts, "utf8")).toBe(userHosts);
        expect(fs.existsSync(lock)).toBe(true);
        // This version takes it over at once, and the earlier version's next run finds the file free.
        expect(
            runCommandScript("hostsEntry.js", "add", { ...env, DR_HOSTNAME: "new.test", DR_OWNER: "p/new/r" }).status,
        ).toBe(0);
        expect(runPrevious("hostsEntry.js", "add", env).status).toBe(0);
        expect(fs.readdirSync(dir)).toEqual(["hosts"]);
    }, 120000);
});
