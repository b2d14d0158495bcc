import * as childProcess from "child_process";
import * as fs from "fs";
import * as path from "path";
import {
    canIsolate,
    hostile,
    Identity,
    hasExited,
    isolationReason,
    IsolatedRun,
    machineFiles,
    makeDir,
    makeFile,
    makeRoot,
    operator,
    runIsolated,
    snapshot,
    startIsolated,
} from "../support/isolation";
import { lockRecord, procStart } from "../support/lockRecord";
import { itWhen } from "../support/requirements";
import { startSudoStandIn } from "../support/sudoStandIn";
import { makeSelfSignedCertificate } from "../support/tls";

/*
 * The workstation scripts met as a hostile local user and an unlucky one would meet them (issue 20): the files we
 * keep beside the edited ones (ledgers, locks, the copy kept during an in-place write) are trusted only if no one
 * else could have written them, and a crash at any point leaves nothing lost. Every case runs the real scripts on
 * real files, in a private mount namespace and as other users, never on the machine's own /etc/hosts or /etc/docker.
 */
const userHosts =
    "127.0.0.1\tlocalhost\n# the user's own comment\n::1 localhost ip6-localhost\n10.0.0.5 build.internal\n";
const ourLine = (owner: string, hostname = "registry.test", address = "192.0.2.10") =>
    `${address} ${hostname} # distribution-registry: ${owner}\n`;
const blocked = /docker trust: daemon.json changed.*\n/;

const run = itWhen(canIsolate, isolationReason);

/** Waits for a condition without a fixed sleep deciding anything: polls, and fails with `what` after a minute. */
function waitFor(condition: () => boolean, what: string, pollMs = 1): void {
    const deadline = Date.now() + 60000;
    while (!condition()) {
        if (Date.now() > deadline) {
            throw new Error(`gave up waiting for ${what}`);
        }
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, pollMs);
    }
}

/** A hosts file large enough that reading, editing and writing it keeps the script busy while the test acts. */
function largeHosts(): string {
    const padding = "#".repeat(200);
    const lines: string[] = [];
    for (let i = 0; i < 160000; i++) {
        lines.push(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255} host${i}.internal ${padding}\n`);
    }
    return `${userHosts}${lines.join("")}# the user's last line\n`;
}

describe("workstation files against a hostile or unlucky user (issue 20)", () => {
    let root: string;
    const machineBefore = machineFiles();
    beforeEach(() => {
        root = makeRoot("dr-safety-");
    });
    afterEach(() => fs.rmSync(root, { recursive: true, force: true }));
    afterAll(() => {
        // Whatever happened in the namespaces, the machine's own hosts file and Docker directory are as they were.
        expect(machineFiles()).toEqual(machineBefore);
    });

    const hostsRun = (
        file: string,
        owner: string,
        extra: Partial<IsolatedRun> = {},
        env: Record<string, string> = {},
    ) =>
        ({
            ...extra,
            env: {
                DR_HOSTS_FILE: file,
                DR_ADDRESS: "192.0.2.10",
                DR_HOSTNAME: "registry.test",
                DR_OWNER: owner,
                DR_SUDO: "never",
                ...env,
            },
        }) as IsolatedRun;
    const trustRun = (env: Record<string, string>, as?: Identity) => ({
        as,
        env: { DR_REGISTRY: "registry.test", DR_SUDO: "never", DR_CERTS_DIR: "", DR_DAEMON_CONFIG: "", ...env },
    });

    describe("ledgers are trusted only if no one else could have written them, and only for what they govern", () => {
        let docker: string;
        let cert: string;
        beforeEach(() => {
            docker = makeDir(path.join(root, "etc", "docker"), null, 0o755);
            cert = makeSelfSignedCertificate(path.join(root, "tls"), "registry.test").certPem;
        });
        const ca = (owner: string, extra: Record<string, string> = {}) =>
            trustRun({
                DR_TRUST_MODE: "ca",
                DR_CERTS_DIR: path.join(docker, "certs.d"),
                DR_CA_CERTIFICATE: cert,
                DR_OWNER: owner,
                ...extra,
            });
        const insecure = (owner: string, extra: Record<string, string> = {}) =>
            trustRun({
                DR_TRUST_MODE: "insecure",
                DR_DAEMON_CONFIG: path.join(docker, "daemon.json"),
                DR_OWNER: owner,
                ...extra,
            });
        const caLedger = () => path.join(docker, "certs.d", "registry.test", ".ca.crt.distribution-registry.json");
        const daemonLedger = () => path.join(docker, ".daemon.json.distribution-registry.json");

        run("a ca.crt ledger that names a directory outside certs.d/<host> removes nothing there on destroy", () => {
            const victim = makeDir(path.join(root, "victim"), null, 0o755);
            const created = runIsolated("dockerTrust.js", "add", ca("p/a/r"));
            expect(created.status).toBe(0);
            const ledger = JSON.parse(fs.readFileSync(caLedger(), "utf8"));
            fs.writeFileSync(caLedger(), JSON.stringify({ ...ledger, createdDirs: [...ledger.createdDirs, victim] }));
            const removed = runIsolated(
                "dockerTrust.js",
                "remove",
                ca("p/a/r", { PULUMI_COMMAND_STDOUT: created.stdout }),
            );
            expect(fs.existsSync(victim)).toBe(true);
            // The record is not one this project wrote: destroy goes on, says so, and follows none of it.
            expect(removed.status).toBe(0);
            expect(removed.stderr).toMatch(
                new RegExp(`^docker trust: ${caLedger()} cannot be used \\(it names ${victim}, .*\\); left it`),
            );
            expect(fs.readFileSync(path.join(docker, "certs.d", "registry.test", "ca.crt"), "utf8")).toBe(cert);
        });

        run("a daemon.json ledger whose recorded blank file holds settings never writes them on destroy", () => {
            makeFile(path.join(docker, "daemon.json"), "", null);
            const created = runIsolated("dockerTrust.js", "add", insecure("p/a/r"));
            expect(created.status).toBe(0);
            const ledger = JSON.parse(fs.readFileSync(daemonLedger(), "utf8"));
            fs.writeFileSync(daemonLedger(), JSON.stringify({ ...ledger, blank: '{"hosts":["tcp://0.0.0.0:2375"]}' }));
            const removed = runIsolated(
                "dockerTrust.js",
                "remove",
                insecure("p/a/r", { PULUMI_COMMAND_STDOUT: created.stdout }),
            );
            expect(fs.readFileSync(path.join(docker, "daemon.json"), "utf8")).not.toContain("tcp://");
            expect(removed.status).toBe(0);
            expect(removed.stderr).toMatch(/cannot be used \(its recorded blank file is not blank\); left it/);
        });

        for (const [tampering, change] of [
            ["owned by another user", (f: string) => fs.chownSync(f, hostile.uid, hostile.gid)],
            ["writable by anyone", (f: string) => fs.chmodSync(f, 0o666)],
        ] as Array<[string, (f: string) => void]>) {
            run(`a ledger ${tampering} is refused by the next create and left alone by destroy`, () => {
                makeFile(path.join(docker, "daemon.json"), '{"debug": true}\n', null);
                const first = [
                    runIsolated("dockerTrust.js", "add", insecure("p/a/r")),
                    runIsolated("dockerTrust.js", "add", ca("p/a/r")),
                ];
                expect(first.map(r => `${r.status} ${r.stderr.replace(blocked, "")}`)).toEqual(["0 ", "0 "]);
                change(daemonLedger());
                change(caLedger());
                const before = snapshot(docker);
                const second = [
                    runIsolated("dockerTrust.js", "add", insecure("p/b/r", { DR_REGISTRY: "other.test" })),
                    runIsolated("dockerTrust.js", "add", ca("p/b/r")),
                ];
                expect(second.map(r => r.stderr.split("\n")[0])).toEqual([
                    expect.stringMatching(
                        /^docker trust: dockerDaemonConfig: .*\.daemon\.json\.distribution-registry\.json cannot be used \(someone other than .* could have written it: .*\); nothing was changed\. Remove it/,
                    ),
                    expect.stringMatching(
                        /^docker trust: dockerCertsDir: .*\.ca\.crt\.distribution-registry\.json cannot be used \(someone other than .* could have written it: .*\); nothing was changed\. Remove it/,
                    ),
                ]);
                expect(snapshot(docker)).toEqual(before);
                const destroyed = [
                    runIsolated(
                        "dockerTrust.js",
                        "remove",
                        insecure("p/a/r", { PULUMI_COMMAND_STDOUT: first[0].stdout }),
                    ),
                    runIsolated("dockerTrust.js", "remove", ca("p/a/r", { PULUMI_COMMAND_STDOUT: first[1].stdout })),
                ];
                expect(destroyed.map(r => r.status)).toEqual([0, 0]);
                expect(destroyed.map(r => r.stderr)).toEqual([
                    expect.stringMatching(/cannot be used .*; left it/),
                    expect.stringMatching(/cannot be used .*; left it/),
                ]);
                expect(snapshot(docker)).toEqual(before);
            });
        }

        run("as a user editing their own Docker directory: another user's ledger there is refused", () => {
            // Docker Desktop keeps daemon.json in the user's home: the user's own directory, written without sudo.
            makeDir(path.join(root, "home"), null, 0o755);
            const home = makeDir(path.join(root, "home", "op"), operator, 0o700);
            const dotDocker = makeDir(path.join(home, ".docker"), operator, 0o755);
            makeFile(path.join(dotDocker, "daemon.json"), "{}\n", operator);
            const ledger = makeFile(
                path.join(dotDocker, ".daemon.json.distribution-registry.json"),
                JSON.stringify({ createdFile: false, blank: null, createdKey: true, registries: {} }),
                hostile,
            );
            const env = {
                DR_TRUST_MODE: "insecure",
                DR_DAEMON_CONFIG: path.join(dotDocker, "daemon.json"),
                DR_OWNER: "p/a/r",
                HOME: home,
            };
            const refused = runIsolated("dockerTrust.js", "add", trustRun(env, operator));
            expect(refused.status).toBe(1);
            expect(refused.stderr).toMatch(
                new RegExp(
                    `cannot be used \\(someone other than .* could have written it: it belongs to uid ${hostile.uid}\\)`,
                ),
            );
            expect(fs.readFileSync(path.join(dotDocker, "daemon.json"), "utf8")).toBe("{}\n");
            expect(fs.statSync(ledger).uid).toBe(hostile.uid);
        });

        const brokenCaLedgers = [
            '{"owners": ["p/a/r"], "createdDi',
            "{}",
            "null",
            "[]",
            '{"owners": "p/a/r", "createdDirs": []}',
        ];
        for (const broken of brokenCaLedgers) {
            run(
                `a ca.crt ledger reading ${JSON.stringify(broken)} is a clear error on create and blocks no destroy`,
                () => {
                    const first = runIsolated("dockerTrust.js", "add", ca("p/a/r"));
                    expect(first.status).toBe(0);
                    fs.writeFileSync(caLedger(), broken);
                    const before = snapshot(docker);
                    const again = runIsolated("dockerTrust.js", "add", ca("p/b/r"));
                    expect(again.stderr.split("\n")[0]).toMatch(
                        /^docker trust: dockerCertsDir: .*\.ca\.crt\.distribution-registry\.json cannot be used \(.*\); nothing was changed\. Remove it and .*ca\.crt if no other stack trusts registry\.test, then run again$/,
                    );
                    expect(again.status).toBe(1);
                    expect(snapshot(docker)).toEqual(before);
                    const destroyed = runIsolated(
                        "dockerTrust.js",
                        "remove",
                        ca("p/a/r", { PULUMI_COMMAND_STDOUT: first.stdout }),
                    );
                    expect(destroyed.status).toBe(0);
                    expect(destroyed.stderr).toMatch(
                        /^docker trust: .*\.ca\.crt\.distribution-registry\.json cannot be used \(.*\); left it/,
                    );
                    expect(snapshot(docker)).toEqual(before);
                },
            );
        }

        for (const broken of ['{"createdFile": false, "registries": {', "{}", "null"]) {
            run(
                `a daemon.json ledger reading ${JSON.stringify(broken)} is a clear error on create and blocks no destroy`,
                () => {
                    makeFile(path.join(docker, "daemon.json"), '{"debug": true}\n', null);
                    const first = runIsolated("dockerTrust.js", "add", insecure("p/a/r"));
                    expect(first.status).toBe(0);
                    fs.writeFileSync(daemonLedger(), broken);
                    const before = snapshot(docker);
                    const again = runIsolated(
                        "dockerTrust.js",
                        "add",
                        insecure("p/b/r", { DR_REGISTRY: "other.test" }),
                    );
                    expect(again.stderr.split("\n")[0]).toMatch(
                        /^docker trust: dockerDaemonConfig: .*\.daemon\.json\.distribution-registry\.json cannot be used \(.*\); nothing was changed\. Remove it/,
                    );
                    expect(again.status).toBe(1);
                    expect(snapshot(docker)).toEqual(before);
                    const destroyed = runIsolated(
                        "dockerTrust.js",
                        "remove",
                        insecure("p/a/r", { PULUMI_COMMAND_STDOUT: first.stdout }),
                    );
                    expect(destroyed.status).toBe(0);
                    expect(destroyed.stderr).toMatch(/cannot be used \(.*\); left it/);
                    expect(snapshot(docker)).toEqual(before);
                },
            );
        }
    });

    describe("an in-place write (rename impossible) keeps a complete copy until it is done", () => {
        run(
            "SIGKILL during the in-place write of a bind-mounted hosts file: the next run puts back every byte",
            async () => {
                // Our line near the top of a large file: removing it moves every byte after it, so a write cut short
                // leaves a file that is neither the old one nor the new one.
                const before = `${userHosts}${ourLine("p/a/r")}${largeHosts()}`;
                const after = `${userHosts}${largeHosts()}`;
                const etc = makeDir(path.join(root, "etc"), null, 0o755);
                const data = makeDir(path.join(root, "data"), null, 0o755);
                const real = path.join(data, "hosts");
                const mountPoint = makeFile(path.join(etc, "hosts"), "the mount point\n", null);
                const spec = hostsRun(mountPoint, "p/a/r", { mounts: [{ bind: [real, mountPoint] }] });
                let torn = 0;
                for (let attempt = 0; attempt < 5 && torn === 0; attempt++) {
                    makeFile(real, before, null);
                    const started = fs.statSync(real, { bigint: true }).mtimeNs;
                    const { child, done } = startIsolated("hostsEntry.js", "remove", spec);
                    // The write has begun when the file's modification time moves: kill the script there.
                    waitFor(() => fs.statSync(real, { bigint: true }).mtimeNs !== started, "the write to start");
                    child.kill("SIGKILL");
                    const killed = await done;
                    expect(killed.signal).toBe("SIGKILL");
                    const left = fs.readFileSync(real, "utf8");
                    if (left !== before && left !== after) {
                        torn++;
                    }
                    const next = runIsolated("hostsEntry.js", "remove", spec);
                    expect(next.status).toBe(0);
                    expect(fs.readFileSync(real, "utf8") === after).toBe(true);
                    expect(fs.readdirSync(etc)).toEqual(["hosts"]);
                    expect(fs.readFileSync(mountPoint, "utf8")).toBe("the mount point\n");
                }
                // At least one kill landed in the middle of the write, or this test proved nothing.
                expect(torn).toBeGreaterThan(0);
            },
            300000,
        );
    });

    describe("locks: a holder that is gone gives way at once, to exactly one; a live one never", () => {
        run(
            "a lock left by a run killed while holding it is taken over at once by the next run",
            async () => {
                const etc = makeDir(path.join(root, "etc"), operator, 0o755);
                const content = largeHosts();
                const hosts = makeFile(path.join(etc, "hosts"), content, operator);
                const lock = path.join(etc, ".hosts.distribution-registry.lock");
                // The lock exists only while the run holds it: a run that ended before this process looked (the
                // machine busy elsewhere) is started again.
                let killed = false;
                for (let attempt = 0; attempt < 10 && !killed; attempt++) {
                    fs.writeFileSync(hosts, content);
                    const { child, done } = startIsolated(
                        "hostsEntry.js",
                        "add",
                        hostsRun(hosts, "p/a/r", { as: operator }),
                    );
                    waitFor(() => fs.existsSync(lock) || hasExited(child.pid!), "the lock to be taken");
                    child.kill("SIGKILL");
                    killed = (await done).signal === "SIGKILL";
                }
                expect(killed).toBe(true);
                expect(fs.existsSync(lock)).toBe(true);
                const next = runIsolated(
                    "hostsEntry.js",
                    "add",
                    hostsRun(hosts, "p/b/r", { as: operator }, { DR_HOSTNAME: "b.test" }),
                );
                expect(next.stderr).toBe("");
                expect(next.status).toBe(0);
                expect(fs.readFileSync(hosts, "utf8") === `${content}${ourLine("p/b/r", "b.test")}`).toBe(true);
                // Nothing of the killed run is left beside the file: its lock and any temporary it had begun.
                expect(fs.readdirSync(etc)).toEqual(["hosts"]);
            },
            120000,
        );

        for (const [left, make] of [
            [
                "by the earlier version (an empty directory) ten minutes ago",
                (lock: string) => fs.mkdirSync(lock, { mode: 0o700 }),
            ],
            [
                "by a process that has exited",
                (lock: string) => {
                    const gone = childProcess.spawnSync("true");
                    fs.writeFileSync(lock, lockRecord(gone.pid!, null), { mode: 0o644 });
                },
            ],
        ] as Array<[string, (lock: string) => void]>) {
            run(
                `ten runs meeting a lock left ${left}: one takes it over and every line lands`,
                async () => {
                    const etc = makeDir(path.join(root, "etc"), operator, 0o755);
                    const hosts = path.join(etc, "hosts");
                    const lock = path.join(etc, ".hosts.distribution-registry.lock");
                    for (let round = 0; round < 5; round++) {
                        makeFile(hosts, userHosts, operator);
                        make(lock);
                        fs.chownSync(lock, operator.uid, operator.gid);
                        const tenMinutesAgo = new Date(Date.now() - 600000);
                        fs.utimesSync(lock, tenMinutesAgo, tenMinutesAgo);
                        const runs = await Promise.all(
                            Array.from(
                                { length: 10 },
                                (_, i) =>
                                    startIsolated(
                                        "hostsEntry.js",
                                        "add",
                                        hostsRun(hosts, `p/s${i}/r`, { as: operator }, { DR_HOSTNAME: `r${i}.test` }),
                                    ).done,
                            ),
                        );
                        expect(runs.map(r => `${r.status} ${r.stderr}`)).toEqual(runs.map(() => "0 "));
                        const text = fs.readFileSync(hosts, "utf8");
                        expect(
                            `round ${round}: ${Array.from({ length: 10 }, (_, i) => text.includes(ourLine(`p/s${i}/r`, `r${i}.test`))).join(" ")}`,
                        ).toBe(`round ${round}: ${Array.from({ length: 10 }, () => "true").join(" ")}`);
                        expect(fs.readdirSync(etc)).toEqual(["hosts"]);
                    }
                },
                300000,
            );
        }

        run(
            "a live holder's lock is waited for and never taken over, however old; its end lets the waiter in",
            async () => {
                const etc = makeDir(path.join(root, "etc"), operator, 0o755);
                const hosts = makeFile(path.join(etc, "hosts"), userHosts, operator);
                const lock = path.join(etc, ".hosts.distribution-registry.lock");
                // A live process named as the holder: it runs until the test kills it.
                const holder = childProcess.spawn("node", ["-e", "setInterval(() => {}, 1000)"]);
                await new Promise(resolve => holder.once("spawn", resolve));
                makeFile(lock, lockRecord(holder.pid!, procStart(holder.pid!)), operator);
                const tenMinutesAgo = new Date(Date.now() - 600000);
                fs.utimesSync(lock, tenMinutesAgo, tenMinutesAgo);
                // Each attempt of the waiter makes (and removes) a temporary beside the lock: count them.
                let attempts = 0;
                const watcher = fs.watch(etc, (_event, name) => {
                    if (name && name.startsWith(".hosts.distribution-registry.lock.")) {
                        attempts++;
                    }
                });
                try {
                    const { done } = startIsolated("hostsEntry.js", "add", hostsRun(hosts, "p/a/r", { as: operator }));
                    await new Promise<void>((resolve, reject) => {
                        const deadline = Date.now() + 60000;
                        const check = () =>
                            attempts >= 20
                                ? resolve()
                                : Date.now() > deadline
                                  ? reject(new Error("the waiter made no attempts"))
                                  : setTimeout(check, 5);
                        check();
                    });
                    expect(fs.readFileSync(hosts, "utf8")).toBe(userHosts);
                    expect(JSON.parse(fs.readFileSync(lock, "utf8")).pid).toBe(holder.pid);
                    holder.kill("SIGKILL");
                    const waited = await done;
                    expect(waited.stderr).toBe("");
                    expect(waited.status).toBe(0);
                    expect(fs.readFileSync(hosts, "utf8")).toBe(`${userHosts}${ourLine("p/a/r")}`);
                    expect(fs.readdirSync(etc)).toEqual(["hosts"]);
                } finally {
                    watcher.close();
                    holder.kill("SIGKILL");
                }
            },
            120000,
        );

        run("a lock another user made beside the file is refused at once, and neither taken over nor removed", () => {
            // A directory anyone may add to (sticky, as /tmp): another user can create the lock's name first.
            const shared = makeDir(path.join(root, "shared"), null, 0o1777);
            const hosts = makeFile(path.join(shared, "hosts"), userHosts, null);
            const lock = makeDir(path.join(shared, ".hosts.distribution-registry.lock"), hostile, 0o700);
            const tenMinutesAgo = new Date(Date.now() - 600000);
            fs.utimesSync(lock, tenMinutesAgo, tenMinutesAgo);
            const refused = runIsolated("hostsEntry.js", "add", hostsRun(hosts, "p/a/r"));
            expect(refused.stderr).toMatch(
                new RegExp(
                    `^hosts entry: the lock ${lock} was not made by this project's scripts \\(it belongs to uid ${hostile.uid}\\); nothing was changed\\. Remove it`,
                ),
            );
            expect(refused.status).toBe(1);
            expect(fs.statSync(lock).uid).toBe(hostile.uid);
            expect(fs.readFileSync(hosts, "utf8")).toBe(userHosts);
        });
    });

    describe("through sudo: a user editing a file only root may change", () => {
        run(
            "the lock, the copy, the write and a dead holder's takeover all go through `sudo -n`, and leave nothing",
            async () => {
                // /etc/hosts as in a container: root's, in root's directory, and a mount point (so the copy is needed too).
                const etc = makeDir(path.join(root, "etc"), null, 0o755);
                const data = makeDir(path.join(root, "data"), null, 0o755);
                const real = makeFile(path.join(data, "hosts"), userHosts, null);
                const mountPoint = makeFile(path.join(etc, "hosts"), "the mount point\n", null);
                const sudo = await startSudoStandIn(root, operator);
                try {
                    const spec = hostsRun(
                        mountPoint,
                        "p/a/r",
                        { as: operator, mounts: [{ bind: [real, mountPoint] }] },
                        { DR_SUDO: "auto", PATH: `${sudo.bin}:${process.env.PATH}` },
                    );
                    const added = await startIsolated("hostsEntry.js", "add", spec).done;
                    expect(`${added.status} ${added.stderr}`).toBe("0 ");
                    expect(fs.readFileSync(real, "utf8")).toBe(`${userHosts}${ourLine("p/a/r")}`);
                    expect(fs.readdirSync(etc)).toEqual(["hosts"]);
                    expect([...new Set(sudo.operations)].sort()).toEqual(
                        [
                            "makeLock",
                            "removeFile",
                            "removeLock",
                            "rewriteInPlace",
                            "writeFileAtomic",
                            "writeRecord",
                        ].sort(),
                    );
                    // A lock beside the file (root's, as sudo makes them) whose holder is gone: taken over through sudo.
                    const lock = path.join(etc, ".hosts.distribution-registry.lock");
                    makeFile(lock, lockRecord(childProcess.spawnSync("true").pid!, null), null);
                    sudo.operations.length = 0;
                    const removed = await startIsolated("hostsEntry.js", "remove", spec).done;
                    expect(`${removed.status} ${removed.stderr}`).toBe("0 ");
                    expect(fs.readFileSync(real, "utf8")).toBe(userHosts);
                    expect(fs.readdirSync(etc)).toEqual(["hosts"]);
                    expect(sudo.operations).toEqual(
                        expect.arrayContaining(["removeLock", "removeLeftovers", "makeLock"]),
                    );
                } finally {
                    await sudo.close();
                }
            },
        );
    });

    describe("certs.d: whichever of our stacks goes last removes what any of them made", () => {
        let docker: string;
        let certs: Record<string, string>;
        beforeEach(() => {
            docker = makeDir(path.join(root, "docker"), operator, 0o755);
            certs = {
                a: makeSelfSignedCertificate(path.join(root, "tls-a"), "a.test").certPem,
                b: makeSelfSignedCertificate(path.join(root, "tls-b"), "b.test").certPem,
            };
        });
        const ca = (owner: string, registry: string, cert: string, extra: Record<string, string> = {}) =>
            trustRun(
                {
                    DR_TRUST_MODE: "ca",
                    DR_REGISTRY: registry,
                    DR_CERTS_DIR: path.join(docker, "certs.d"),
                    DR_CA_CERTIFICATE: cert,
                    DR_OWNER: owner,
                    ...extra,
                },
                operator,
            );

        for (const order of [
            ["a", "b"],
            ["b", "a"],
        ]) {
            run(
                `two stacks trust two registries in a certs.d that did not exist; destroyed ${order.join(" then ")}, nothing is left`,
                () => {
                    const before = snapshot(docker);
                    const created: Record<string, string> = {};
                    for (const s of ["a", "b"]) {
                        const r = runIsolated("dockerTrust.js", "add", ca(`p/${s}/r`, `${s}.test`, certs[s]));
                        expect(`${r.status} ${r.stderr}`).toBe("0 ");
                        created[s] = r.stdout;
                        expect(fs.readFileSync(path.join(docker, "certs.d", `${s}.test`, "ca.crt"), "utf8")).toBe(
                            certs[s],
                        );
                    }
                    expect(order).toHaveLength(2);
                    for (const s of order) {
                        const r = runIsolated(
                            "dockerTrust.js",
                            "remove",
                            ca(`p/${s}/r`, `${s}.test`, certs[s], { PULUMI_COMMAND_STDOUT: created[s] }),
                        );
                        expect(`${r.status} ${r.stderr}`).toBe("0 ");
                    }
                    expect(snapshot(docker)).toEqual(before);
                },
            );
        }

        run(
            "ten stacks on one hostname with two CAs at once: the refused ones leave nothing, the last to go removes all",
            async () => {
                const before = snapshot(docker);
                for (let round = 0; round < 4; round++) {
                    const runs = await Promise.all(
                        Array.from(
                            { length: 10 },
                            (_, i) =>
                                startIsolated(
                                    "dockerTrust.js",
                                    "add",
                                    ca(`p/s${i}/r`, "a.test", i % 2 ? certs.b : certs.a),
                                ).done,
                        ),
                    );
                    const accepted = runs.filter(r => r.status === 0);
                    expect(accepted.length).toBe(5);
                    const refused = runs.filter(x => x.status !== 0);
                    expect(refused).toHaveLength(5);
                    for (const r of refused) {
                        expect(r.stderr).toMatch(/holds the certificate another stack \(.*\) trusts/);
                    }
                    for (const r of accepted) {
                        const owner = r.result.owner as string;
                        const gone = runIsolated(
                            "dockerTrust.js",
                            "remove",
                            ca(owner, "a.test", "", { PULUMI_COMMAND_STDOUT: r.stdout }),
                        );
                        expect(`${gone.status} ${gone.stderr}`).toBe("0 ");
                    }
                    expect(snapshot(docker)).toEqual(before);
                }
            },
            300000,
        );
    });

    describe("the lock and the copy of a file whose directory is not writable live where only their user can write", () => {
        run(
            "another user's directory at the earlier version's /tmp name blocks nothing, and nothing is made in /tmp",
            () => {
                const etc = makeDir(path.join(root, "etc"), null, 0o755);
                const hosts = makeFile(path.join(etc, "hosts"), userHosts, operator);
                makeDir(path.join(root, "home"), null, 0o755);
                const home = makeDir(path.join(root, "home", "op"), operator, 0o700);
                const squat = `/tmp/distribution-registry-${operator.uid}`;
                const listing = makeFile(path.join(root, "tmp-listing"), "", operator);
                const spec = (action: string) =>
                    hostsRun(
                        hosts,
                        "p/a/r",
                        {
                            as: operator,
                            // A /tmp of this run only, where another user got first to the name the earlier version used.
                            mounts: [{ tmpfs: "/tmp" }],
                            before: [
                                {
                                    as: hostile,
                                    code: `require("fs").mkdirSync(${JSON.stringify(squat)}, { mode: 0o755 })`,
                                },
                            ],
                            // What is in that /tmp once the script is done.
                            after: {
                                as: operator,
                                code: `const fs = require("fs"); fs.appendFileSync(${JSON.stringify(listing)}, ${JSON.stringify(action)} + ": " + fs.readdirSync("/tmp").join(" ") + "\\n")`,
                            },
                        },
                        { HOME: home },
                    );
                const added = runIsolated("hostsEntry.js", "add", spec("add"));
                expect(added.stderr).toBe("");
                expect(added.status).toBe(0);
                expect(fs.readFileSync(hosts, "utf8")).toBe(`${userHosts}${ourLine("p/a/r")}`);
                expect(fs.statSync(hosts).uid).toBe(operator.uid);
                expect(fs.readdirSync(etc)).toEqual(["hosts"]);
                const removed = runIsolated("hostsEntry.js", "remove", spec("remove"));
                expect(removed.status).toBe(0);
                expect(fs.readFileSync(hosts, "utf8")).toBe(userHosts);
                expect(fs.readFileSync(listing, "utf8")).toBe(
                    `add: distribution-registry-${operator.uid}\nremove: distribution-registry-${operator.uid}\n`,
                );
                // The lock and the copy were in the user's own state directory, and are gone.
                const state = path.join(home, ".local", "state", "distribution-registry");
                expect(fs.statSync(state).mode & 0o777).toBe(0o700);
                expect(fs.readdirSync(state)).toEqual([]);
            },
        );
    });

    describe("temporaries: made exclusively under names no one can guess; a file we did not make is never removed", () => {
        run("a file planted where the earlier version put its temporary is neither in the way nor removed", () => {
            const shared = makeDir(path.join(root, "shared"), null, 0o1777);
            const hosts = makeFile(path.join(shared, "hosts"), userHosts, null);
            const daemonJson = makeFile(path.join(shared, "daemon.json"), "{}\n", null);
            // The script is pid 1 of its own pid namespace, so the earlier version's names are known in advance.
            const planted = [
                ".hosts.distribution-registry-1",
                ".daemon.json.distribution-registry-1",
                "..daemon.json.distribution-registry.json.distribution-registry-1",
            ].map(name => makeFile(path.join(shared, name), "another user's\n", hostile));
            expect(planted).toHaveLength(3);
            const hostsAdd = runIsolated("hostsEntry.js", "add", hostsRun(hosts, "p/a/r", { ownPids: true }));
            const trustAdd = runIsolated("dockerTrust.js", "add", {
                ownPids: true,
                env: {
                    DR_TRUST_MODE: "insecure",
                    DR_REGISTRY: "registry.test",
                    DR_DAEMON_CONFIG: daemonJson,
                    DR_SUDO: "never",
                    DR_OWNER: "p/a/r",
                },
            });
            expect([hostsAdd, trustAdd].map(r => `${r.status} ${r.stderr.replace(blocked, "")}`)).toEqual(["0 ", "0 "]);
            expect(fs.readFileSync(hosts, "utf8")).toBe(`${userHosts}${ourLine("p/a/r")}`);
            expect(JSON.parse(fs.readFileSync(daemonJson, "utf8"))).toEqual({
                "insecure-registries": ["registry.test"],
            });
            for (const file of planted) {
                expect(`${path.basename(file)}: ${fs.readFileSync(file, "utf8")}`).toBe(
                    `${path.basename(file)}: another user's\n`,
                );
                expect(fs.statSync(file).uid).toBe(hostile.uid);
            }
        });

        run("two runs as the same pid make their temporaries under different names", async () => {
            const etc = makeDir(path.join(root, "etc"), null, 0o755);
            const hosts = makeFile(path.join(etc, "hosts"), userHosts, null);
            const seen: string[][] = [];
            for (const action of ["add", "remove"]) {
                const names = new Set<string>();
                let sentinelSeen = false;
                const watcher = fs.watch(etc, (_event, name) => {
                    if (name === "sentinel") {
                        sentinelSeen = true;
                    } else if (name && name !== "hosts" && name !== ".hosts.distribution-registry.lock") {
                        names.add(name);
                    }
                });
                const r = await startIsolated("hostsEntry.js", action, hostsRun(hosts, "p/a/r", { ownPids: true }))
                    .done;
                // Events come in order: once the sentinel made after the run is reported, so is all the run did.
                fs.writeFileSync(path.join(etc, "sentinel"), "");
                await new Promise<void>(resolve => {
                    const check = () => (sentinelSeen ? resolve() : setTimeout(check, 5));
                    check();
                });
                watcher.close();
                fs.unlinkSync(path.join(etc, "sentinel"));
                expect(r.status).toBe(0);
                seen.push([...names]);
            }
            expect(seen[0].length).toBeGreaterThan(0);
            expect(seen[1].length).toBeGreaterThan(0);
            expect(seen[0].filter(n => seen[1].includes(n))).toEqual([]);
        });
    });
});
