import * as fs from "fs";
import * as path from "path";
import { nodeTrustScriptFile } from "../../components/pulling";
import {
    canIsolate,
    hasExited,
    isolationReason,
    IsolatedRun,
    machineFiles,
    makeDir,
    makeFile,
    makeRoot,
    runIsolatedCommand,
    snapshot,
    startIsolatedCommand,
} from "../support/isolation";
import { itWhen, waitUntil } from "../support/requirements";
import { makeSelfSignedCertificate } from "../support/tls";

/*
 * The node-trust DaemonSet's script (components/pulling/scripts/nodeTrust.sh) run for real on real files, as its pod
 * runs it: busybox's sh with the applets the registry's image carries, the node's certs directory and hosts file
 * reached through bind mounts (so a rename onto the hosts file fails, EBUSY, as in the pod), in a private mount
 * namespace. Never the machine's own /etc/hosts: the "node" is a directory of the test's.
 */

const busybox = "/bin/busybox";
const run = itWhen(canIsolate && fs.existsSync(busybox), `${isolationReason}, and busybox-static`);
const repo = path.join(__dirname, "..", "..");

/** The applets the e2e's registry images carry (tests/engine/images/build-images.sh), as the pod's PATH holds them. */
function imageApplets(): string[] {
    const text = fs.readFileSync(path.join(repo, "tests", "engine", "images", "build-images.sh"), "utf8");
    const list = /^script_applets=\(([^)]*)\)/m.exec(text);
    if (!list) {
        throw new Error("build-images.sh has no script_applets=(...) list");
    }
    return list[1].split(/\s+/).filter(Boolean);
}

const userHosts =
    "127.0.0.1\tlocalhost\n# the user's own comment\n::1 localhost ip6-localhost\n10.0.0.5 build.internal\n";
const owner = "distribution-registry/e2e/registry";
const marker = `# distribution-registry: ${owner}`;
const ourLine = (address = "192.0.2.10") => `${address} registry.test ${marker}`;
const publicHostsToml =
    'server = "https://127.0.0.1:1"\n[host."https://127.0.0.1:1"]\n  capabilities = ["pull", "resolve"]\n';

interface Node {
    /** The node's containerd certs directory and hosts file. */
    certs: string;
    hosts: string;
    /** The pod's view of them (bind mounts), and its own state directory. */
    podCerts: string;
    podHosts: string;
    state: string;
    applets: string;
    ca: string;
    caPem: string;
}

describe("the node-trust script on real files, in a private mount namespace", () => {
    let root: string;
    let node: Node;
    const machineBefore = machineFiles();

    beforeEach(() => {
        root = makeRoot("dr-node-trust-");
        const certs = makeDir(path.join(root, "node", "certs.d"), null, 0o755);
        // A host directory of the node's own (the test node points docker.io at a closed port): never touched.
        makeDir(path.join(certs, "docker.io"), null, 0o755);
        makeFile(path.join(certs, "docker.io", "hosts.toml"), publicHostsToml, null);
        const applets = makeDir(path.join(root, "applets"), null, 0o755);
        for (const applet of imageApplets()) {
            fs.symlinkSync(busybox, path.join(applets, applet));
        }
        const caPem = makeSelfSignedCertificate(path.join(root, "tls"), "registry.test").certPem;
        node = {
            certs,
            hosts: makeFile(path.join(root, "node", "hosts"), userHosts, null),
            podCerts: makeDir(path.join(root, "pod", "certs.d"), null, 0o755),
            podHosts: makeFile(path.join(root, "pod", "hosts"), "the mount point\n", null),
            state: makeDir(path.join(root, "pod", "state"), null, 0o755),
            applets,
            ca: makeFile(path.join(root, "pod", "ca.crt"), caPem, null),
            caPem,
        };
    });
    /** What a test started: stopped after it whatever happened, before its files go. */
    let started: number[] = [];
    function start(action: string, env: Record<string, string> = {}) {
        const running = startIsolatedCommand(command(action), pod(env));
        started.push(running.child.pid!);
        return running;
    }
    afterEach(() => {
        for (const pid of started) {
            try {
                process.kill(-pid, "SIGKILL");
            } catch (_) {
                /* already gone */
            }
        }
        started = [];
        fs.rmSync(root, { recursive: true, force: true });
    });
    afterAll(() => {
        expect(machineFiles()).toEqual(machineBefore);
    });

    /** The pod's mounts and environment, as the DaemonSet's template gives them. */
    function pod(env: Record<string, string> = {}): IsolatedRun {
        return {
            mounts: [{ bind: [node.certs, node.podCerts] }, { bind: [node.hosts, node.podHosts] }],
            env: {
                DR_CERTS_DIR: node.podCerts,
                DR_HOSTS_FILE: node.podHosts,
                DR_NODE_CERTS_DIR: "/var/lib/rancher/k3s/agent/etc/containerd/certs.d",
                DR_NODE_HOSTS_FILE: "/etc/hosts",
                DR_REGISTRY: "registry.test",
                DR_HOSTNAME: "registry.test",
                DR_ADDRESS: "192.0.2.10",
                DR_OWNER: owner,
                DR_TLS: "ca",
                DR_CA_FILE: node.ca,
                DR_STATE_DIR: node.state,
                DR_CHECK_SECONDS: "30",
                POD_UID: "0b6c2a1e-7f3d-4c55-9a51-2f0e8c1d9b7a",
                ...env,
            },
        };
    }

    /** The script's command: busybox's sh with the image's applets on PATH (what the pod runs), or another shell. */
    function command(action: string, shell: string[] = [busybox, "sh"]): string[] {
        return ["/usr/bin/env", `PATH=${node.applets}`, ...shell, nodeTrustScriptFile, action];
    }

    const nodeScript = (action: string, env: Record<string, string> = {}, shell?: string[]) =>
        runIsolatedCommand(command(action, shell), pod(env));
    const hostDir = () => path.join(node.certs, "registry.test");
    const hostsToml = (tlsLine: string) =>
        [
            marker,
            "# Written by the node-trust DaemonSet of that stack; removed with it.",
            'server = "https://registry.test"',
            "",
            '[host."https://registry.test"]',
            '  capabilities = ["pull", "resolve"]',
            ...(tlsLine ? [tlsLine] : []),
            "",
        ].join("\n");
    const status = () => fs.readFileSync(path.join(node.state, "status"), "utf8");
    const mtimes = () =>
        [node.hosts, path.join(hostDir(), "hosts.toml"), path.join(hostDir(), "ca.crt")].map(
            f => fs.statSync(f, { bigint: true }).mtimeNs,
        );

    describe.each([
        ["busybox's sh and applets (the registry image's)", undefined],
        ["dash with Debian's tools (another POSIX sh)", ["/bin/dash"]],
    ])("with %s", (_shell, shell) => {
        run(
            "apply writes hosts.toml and the CA in a host directory of its own and our line at the end of the hosts file; again, it writes nothing; remove gives every byte back",
            () => {
                const certsBefore = snapshot(node.certs);
                const inode = fs.statSync(node.hosts).ino;
                const first = nodeScript("apply", {}, shell);
                expect(first.stderr).toContain("wrote /var/lib/rancher/k3s/agent/etc/containerd/certs.d/registry.test");
                expect(first.status).toBe(0);
                expect(fs.readdirSync(hostDir()).sort()).toEqual(["ca.crt", "hosts.toml"]);
                expect(fs.readFileSync(path.join(hostDir(), "hosts.toml"), "utf8")).toBe(hostsToml('  ca = "ca.crt"'));
                expect(fs.readFileSync(path.join(hostDir(), "ca.crt"), "utf8")).toBe(node.caPem);
                expect(fs.readFileSync(node.hosts, "utf8")).toBe(`${userHosts}${ourLine()}\n`);
                // Edited in place through the bind mount: the node's file is the same file.
                expect(fs.statSync(node.hosts).ino).toBe(inode);
                // Nothing else in the certs directory: no lock, no copy, no temporary left.
                expect(fs.readdirSync(node.certs).sort()).toEqual(["docker.io", "registry.test"]);
                expect(status()).toBe("ready\n");
                const ready = runIsolatedCommand(command("ready", shell), pod());
                expect([ready.status, ready.stdout]).toEqual([0, "ready\n"]);

                const written = mtimes();
                const again = nodeScript("apply", {}, shell);
                expect(again.status).toBe(0);
                expect(again.stderr).toBe("");
                expect(mtimes()).toEqual(written);
                expect(fs.readFileSync(node.hosts, "utf8")).toBe(`${userHosts}${ourLine()}\n`);

                const removed = nodeScript("remove", {}, shell);
                expect(removed.status).toBe(0);
                expect(fs.readFileSync(node.hosts, "utf8")).toBe(userHosts);
                expect(snapshot(node.certs)).toEqual(certsBefore);
                expect(fs.statSync(node.hosts).ino).toBe(inode);
            },
        );
    });

    run.each([
        ["no final newline", "127.0.0.1 localhost\n::1 localhost"],
        ["CRLF lines", "127.0.0.1 localhost\r\n::1 localhost\r\n"],
        ["empty", ""],
        ["one empty line", "\n"],
    ])("a hosts file with %s comes back byte for byte", (_case, content) => {
        fs.writeFileSync(node.hosts, content);
        expect(nodeScript("apply").status).toBe(0);
        const added = fs.readFileSync(node.hosts, "utf8");
        expect(added.startsWith(content)).toBe(true);
        expect(added.slice(content.length).replace(/^\n/, "")).toMatch(
            new RegExp(`^${ourLine().replace(/\./g, "\\.")}\n?$`),
        );
        expect(nodeScript("remove").status).toBe(0);
        expect(fs.readFileSync(node.hosts).equals(Buffer.from(content))).toBe(true);
    });

    run(
        "an address change moves our line where it stands; the TLS mode changes hosts.toml and takes the CA away",
        () => {
            expect(nodeScript("apply").status).toBe(0);
            fs.appendFileSync(node.hosts, "10.0.0.6 later.internal\n");
            expect(nodeScript("apply", { DR_ADDRESS: "192.0.2.20" }).status).toBe(0);
            expect(fs.readFileSync(node.hosts, "utf8")).toBe(
                `${userHosts}${ourLine("192.0.2.20")}\n10.0.0.6 later.internal\n`,
            );

            expect(nodeScript("apply", { DR_TLS: "skipVerify", DR_CA_FILE: "" }).status).toBe(0);
            expect(fs.readdirSync(hostDir())).toEqual(["hosts.toml"]);
            expect(fs.readFileSync(path.join(hostDir(), "hosts.toml"), "utf8")).toBe(hostsToml("  skip_verify = true"));
            expect(nodeScript("apply", { DR_TLS: "system", DR_CA_FILE: "" }).status).toBe(0);
            expect(fs.readFileSync(path.join(hostDir(), "hosts.toml"), "utf8")).toBe(hostsToml(""));
            expect(nodeScript("apply").status).toBe(0);
            expect(fs.readdirSync(hostDir()).sort()).toEqual(["ca.crt", "hosts.toml"]);

            expect(nodeScript("remove", { DR_ADDRESS: "192.0.2.20" }).status).toBe(0);
            expect(fs.readFileSync(node.hosts, "utf8")).toBe(`${userHosts}10.0.0.6 later.internal\n`);
            expect(fs.existsSync(hostDir())).toBe(false);
        },
    );

    run("a port makes the host directory host:port, as containerd looks it up", () => {
        expect(nodeScript("apply", { DR_REGISTRY: "registry.test:8443" }).status).toBe(0);
        const toml = fs.readFileSync(path.join(node.certs, "registry.test:8443", "hosts.toml"), "utf8");
        expect(toml).toContain('server = "https://registry.test:8443"\n\n[host."https://registry.test:8443"]\n');
        expect(nodeScript("remove", { DR_REGISTRY: "registry.test:8443" }).status).toBe(0);
        expect(fs.readdirSync(node.certs)).toEqual(["docker.io"]);
    });

    run(
        "a host directory of someone else's is left alone: the pod is not Ready and says why; the hosts line is still ours to write",
        () => {
            makeDir(hostDir(), null, 0o700);
            makeFile(
                path.join(hostDir(), "hosts.toml"),
                '# Generated by k3s\nserver = "https://registry.test"\n',
                null,
            );
            const before = snapshot(node.certs);
            const applied = nodeScript("apply");
            expect(applied.status).toBe(1);
            const expected =
                '/var/lib/rancher/k3s/agent/etc/containerd/certs.d/registry.test was not written by this stack (its hosts.toml does not begin with "# distribution-registry: distribution-registry/e2e/registry"): left alone';
            expect(status()).toContain(expected);
            const ready = runIsolatedCommand(command("ready"), pod());
            expect(ready.status).toBe(1);
            expect(ready.stdout).toContain(expected);
            expect(snapshot(node.certs)).toEqual(before);
            expect(fs.readFileSync(node.hosts, "utf8")).toBe(`${userHosts}${ourLine()}\n`);

            expect(nodeScript("remove").status).toBe(0);
            expect(snapshot(node.certs)).toEqual(before);
            expect(fs.readFileSync(node.hosts, "utf8")).toBe(userHosts);
        },
    );

    run(
        "a hosts line of someone else's that maps the hostname elsewhere is left alone and no line of ours is added; one that agrees is no obstacle",
        () => {
            const theirs = `${userHosts}10.9.9.9 Registry.Test registry # the admin's\n`;
            fs.writeFileSync(node.hosts, theirs);
            const applied = nodeScript("apply");
            expect(applied.status).toBe(1);
            expect(status()).toBe(
                '/etc/hosts line 5 ("10.9.9.9 Registry.Test registry # the admin\'s") maps registry.test to another address than 192.0.2.10: left alone, and no line of ours added (it would lose). Remove that line, or make it 192.0.2.10\n',
            );
            expect(fs.readFileSync(node.hosts, "utf8")).toBe(theirs);
            // The certs part does not wait for the hosts part.
            expect(fs.readdirSync(hostDir()).sort()).toEqual(["ca.crt", "hosts.toml"]);

            const agreeing = `${userHosts}192.0.2.10 registry.test\n`;
            fs.writeFileSync(node.hosts, agreeing);
            expect(nodeScript("apply").status).toBe(0);
            expect(status()).toBe("ready\n");
            expect(nodeScript("remove").status).toBe(0);
            expect(fs.readFileSync(node.hosts, "utf8")).toBe(agreeing);
        },
    );

    run("values come from the environment and are never run: quotes and command substitutions are text", () => {
        const hostile = `e2e $(touch ${root}/pwned) "q" 'q' \`touch ${root}/pwned2\` ; touch ${root}/pwned3`;
        expect(nodeScript("apply", { DR_OWNER: hostile }).status).toBe(0);
        expect(fs.readFileSync(node.hosts, "utf8")).toBe(
            `${userHosts}192.0.2.10 registry.test # distribution-registry: ${hostile}\n`,
        );
        expect(fs.readFileSync(path.join(hostDir(), "hosts.toml"), "utf8").split("\n")[0]).toBe(
            `# distribution-registry: ${hostile}`,
        );
        expect(nodeScript("remove", { DR_OWNER: hostile }).status).toBe(0);
        expect(fs.readFileSync(node.hosts, "utf8")).toBe(userHosts);
        expect(fs.readdirSync(root).filter(f => f.startsWith("pwned"))).toEqual([]);
        // A line break in a value would split the hosts line: refused before anything is written.
        const refused = nodeScript("apply", { DR_OWNER: "two\nlines" });
        expect(refused.status).toBe(2);
        expect(refused.stderr).toContain("DR_OWNER has a line break or a control character");
        expect(fs.readFileSync(node.hosts, "utf8")).toBe(userHosts);
        expect(fs.readdirSync(node.certs)).toEqual(["docker.io"]);
    });

    run(
        "run: Ready once written; on SIGTERM everything it wrote goes and it exits 0",
        async () => {
            const certsBefore = snapshot(node.certs);
            const { child, done } = start("run");
            await waitUntil(
                "the pod to be ready",
                () => fs.existsSync(path.join(node.state, "status")) && status() === "ready\n",
            );
            expect(fs.readFileSync(node.hosts, "utf8")).toBe(`${userHosts}${ourLine()}\n`);
            process.kill(-child.pid!, "SIGTERM");
            const stopped = await done;
            expect(stopped.stderr).toContain("stopped: the node is as it was");
            expect(stopped.status).toBe(0);
            expect(fs.readFileSync(node.hosts, "utf8")).toBe(userHosts);
            expect(snapshot(node.certs)).toEqual(certsBefore);
        },
        60000,
    );

    run(
        "run writes back what went missing at its next check",
        async () => {
            const { child, done } = start("run", { DR_CHECK_SECONDS: "1" });
            await waitUntil(
                "the pod to be ready",
                () => fs.existsSync(path.join(node.state, "status")) && status() === "ready\n",
            );
            fs.writeFileSync(node.hosts, userHosts);
            fs.rmSync(path.join(hostDir(), "ca.crt"));
            await waitUntil(
                "the files to be written back",
                () =>
                    fs.readFileSync(node.hosts, "utf8") === `${userHosts}${ourLine()}\n` &&
                    fs.existsSync(path.join(hostDir(), "ca.crt")),
            );
            process.kill(-child.pid!, "SIGTERM");
            expect((await done).status).toBe(0);
            expect(fs.readFileSync(node.hosts, "utf8")).toBe(userHosts);
        },
        60000,
    );

    run(
        "run exits, to be restarted on the new file, when the node's hosts file is replaced by a rename",
        async () => {
            const { done } = start("run", { DR_CHECK_SECONDS: "1" });
            await waitUntil(
                "the pod to be ready",
                () => fs.existsSync(path.join(node.state, "status")) && status() === "ready\n",
            );
            // What a tool that writes /etc/hosts atomically does: the mount now holds a file the node no longer has.
            makeFile(`${node.hosts}.new`, userHosts, null);
            fs.renameSync(`${node.hosts}.new`, node.hosts);
            const exited = await done;
            expect(exited.status).toBe(3);
            expect(exited.stderr).toContain(
                "/etc/hosts was replaced on the node since this container started: exiting, to be restarted on it",
            );
            // The restarted container mounts the node's file as it is now, and writes our line there.
            expect(nodeScript("apply").status).toBe(0);
            expect(fs.readFileSync(node.hosts, "utf8")).toBe(`${userHosts}${ourLine()}\n`);
        },
        60000,
    );

    run(
        "a lock a killed container of this pod left is taken over at once, and so is one another pod left an hour ago",
        () => {
            const lock = makeDir(path.join(node.certs, ".distribution-registry.lock"), null, 0o755);
            makeFile(path.join(lock, "holder"), "0b6c2a1e-7f3d-4c55-9a51-2f0e8c1d9b7a\n", null);
            const applied = nodeScript("apply");
            expect(applied.status).toBe(0);
            expect(applied.stderr).toContain("took over the lock");
            expect(fs.readdirSync(node.certs).sort()).toEqual(["docker.io", "registry.test"]);
            // Another pod's, an hour old: its holder is gone.
            makeDir(lock, null, 0o755);
            makeFile(path.join(lock, "holder"), "another-pod\n", null);
            const anHourAgo = new Date(Date.now() - 3600 * 1000);
            fs.utimesSync(lock, anHourAgo, anHourAgo);
            expect(nodeScript("remove").status).toBe(0);
            expect(fs.readdirSync(node.certs)).toEqual(["docker.io"]);
        },
    );

    run(
        "a lock another pod holds now is waited for: nothing is written until it goes",
        async () => {
            const lock = makeDir(path.join(node.certs, ".distribution-registry.lock"), null, 0o755);
            makeFile(path.join(lock, "holder"), "another-pod\n", null);
            const { done } = start("apply");
            await new Promise(r => setTimeout(r, 2500));
            expect(fs.readFileSync(node.hosts, "utf8")).toBe(userHosts);
            expect(fs.readdirSync(node.certs).sort()).toEqual([".distribution-registry.lock", "docker.io"]);
            fs.rmSync(lock, { recursive: true });
            const applied = await done;
            expect(applied.status).toBe(0);
            expect(fs.readFileSync(node.hosts, "utf8")).toBe(`${userHosts}${ourLine()}\n`);
        },
        60000,
    );

    run(
        "a pod told to stop while it waits for the lock writes nothing, and stops once the lock is free",
        async () => {
            const lock = makeDir(path.join(node.certs, ".distribution-registry.lock"), null, 0o755);
            makeFile(path.join(lock, "holder"), "another-pod\n", null);
            const { child, done } = start("run");
            await new Promise(r => setTimeout(r, 1500));
            process.kill(-child.pid!, "SIGTERM");
            await new Promise(r => setTimeout(r, 1500));
            fs.rmSync(lock, { recursive: true });
            const stopped = await done;
            expect(stopped.status).toBe(0);
            expect(stopped.stderr).not.toMatch(/node trust: wrote /);
            expect(stopped.stderr).toContain("stopped: the node is as it was");
            expect(fs.readFileSync(node.hosts, "utf8")).toBe(userHosts);
            expect(fs.readdirSync(node.certs)).toEqual(["docker.io"]);
        },
        60000,
    );

    describe("a crash in the middle of a write of the hosts file", () => {
        /** A hosts file large enough that copying and rewriting it leaves time to stop the script in between. */
        function largeHosts(): string {
            const lines: string[] = [userHosts];
            for (let i = 0; i < 20000; i++) {
                lines.push(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255} host${i}.internal ${"#".repeat(60)}\n`);
            }
            return lines.join("");
        }

        run(
            "killed after its copy is on disk (before the first byte, or during the write): the next start finishes the write, and remove gives every byte back",
            async () => {
                // Our line first: removing it moves every byte after it, so a write cut short is neither file.
                const original = largeHosts();
                const withOurs = `${ourLine()}\n${original}`;
                const journal = path.join(node.certs, ".distribution-registry-hosts.journal");
                const seen = { between: 0, torn: 0, done: 0, missed: 0 };
                for (let attempt = 0; attempt < 40 && (seen.between === 0 || seen.torn === 0); attempt++) {
                    // Even attempts stop a removal (the file shrinks), odd ones an addition (it grows).
                    const removing = attempt % 2 === 0;
                    const before = removing ? withOurs : original;
                    const after = removing ? original : `${original}${ourLine()}\n`;
                    fs.writeFileSync(node.hosts, before);
                    const { child, done } = start(removing ? "remove" : "apply");
                    // The copy is complete once it has its final name: stop the script there, a little later each time.
                    // A script that ran to its end before this process looked (the machine was busy elsewhere) is
                    // an attempt missed: its write is whole, and the next attempt tries again.
                    waitForSync(
                        () => fs.existsSync(path.join(journal, "after")) || hasExited(child.pid!),
                        "the copy or the script's end",
                    );
                    if (!fs.existsSync(path.join(journal, "after"))) {
                        expect((await done).status).toBe(0);
                        expect(fs.readFileSync(node.hosts, "utf8")).toBe(after);
                        seen.missed++;
                        expect(nodeScript("remove").status).toBe(0);
                        expect(fs.readFileSync(node.hosts, "utf8")).toBe(original);
                        continue;
                    }
                    spin(Math.floor(attempt / 2) * 0.4);
                    process.kill(-child.pid!, "SIGSTOP");
                    const left = fs.readFileSync(node.hosts, "utf8");
                    process.kill(-child.pid!, "SIGKILL");
                    expect((await done).signal).toBe("SIGKILL");
                    if (left === before) {
                        seen.between++;
                    } else if (left === after) {
                        seen.done++;
                    } else {
                        seen.torn++;
                    }
                    // The next start (of either action) finds the copy first and finishes what was begun.
                    const next = nodeScript("apply");
                    expect(next.status).toBe(0);
                    expect(fs.existsSync(journal)).toBe(false);
                    expect(fs.readFileSync(node.hosts, "utf8")).toBe(removing ? `${original}${ourLine()}\n` : after);
                    expect(nodeScript("remove").status).toBe(0);
                    expect(fs.readFileSync(node.hosts, "utf8")).toBe(original);
                }
                console.log(`crash outcomes: ${JSON.stringify(seen)}`);
                // Both cases happened at least once, or this test proved less than it says.
                expect({ between: seen.between > 0, torn: seen.torn > 0 }).toEqual({ between: true, torn: true });
            },
            240000,
        );

        run("a copy whose file changed since the crash is dropped, and the file left as it is now", () => {
            const journal = makeDir(path.join(node.certs, ".distribution-registry-hosts.journal"), null, 0o755);
            makeFile(path.join(journal, "before"), userHosts, null);
            makeFile(path.join(journal, "after"), `${userHosts}${ourLine()}\n`, null);
            // Someone rewrote the file after the crash (a boot script, the admin).
            const rewritten = "127.0.0.1 localhost\n10.1.1.1 other.internal\n";
            fs.writeFileSync(node.hosts, rewritten);
            const applied = nodeScript("apply");
            expect(applied.status).toBe(0);
            expect(applied.stderr).toContain(
                "/etc/hosts changed after a write of ours was cut short by a crash: left as it is now",
            );
            expect(fs.existsSync(journal)).toBe(false);
            expect(fs.readFileSync(node.hosts, "utf8")).toBe(`${rewritten}${ourLine()}\n`);
        });
    });
});

/** Polls a condition without a fixed sleep deciding anything; fails with `what` after a minute. */
function waitForSync(condition: () => boolean, what: string): void {
    const deadline = Date.now() + 60000;
    while (!condition()) {
        if (Date.now() > deadline) {
            throw new Error(`gave up waiting for ${what}`);
        }
    }
}

/** Busy-waits ms milliseconds (a timer would let the script run on). */
function spin(ms: number): void {
    const until = process.hrtime.bigint() + BigInt(Math.round(ms * 1e6));
    while (process.hrtime.bigint() < until) {
        /* spin */
    }
}
