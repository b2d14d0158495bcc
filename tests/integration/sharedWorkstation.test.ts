import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runCommandScriptAsync } from "../support/commandRunner";
import { snapshot } from "../support/isolation";
import { makeSelfSignedCertificate } from "../support/tls";

/**
 * Several stacks on one workstation: ten owners add their hosts line, their insecure registry and their
 * registry's CA in certs.d at the same time, on one hosts file, one daemon.json and one certs.d, as ten
 * `pulumi up` would; then they go in different orders, as their `pulumi destroy` would. Whatever the order,
 * every file and directory comes back as it was (content, mode, owner), certs.d included (it did not exist),
 * and nothing of ours (ledger, record, lock, temporary file) stays.
 */
const userHosts =
    "127.0.0.1\tlocalhost\n::1 localhost ip6-localhost\n# the user's own comment\n10.0.0.5 build.internal";
const userDaemonJson =
    '{\n    "log-driver": "json-file",\n    "insecure-registries": ["user.test:5000"],\n    "features": {"buildkit": true}\n}\n';
const stacks = Array.from({ length: 10 }, (_, i) => ({
    owner: `project/stack-${i}/registry`,
    // Some stacks share a registry (same hostname and port), and one names a registry the user listed already.
    registry: i === 9 ? "user.test:5000" : `reg${i % 6}.test`,
    hostname: `reg${i % 6}.test`,
}));

/** A fixed shuffle, so that a failure can be replayed. */
function shuffled<T>(items: T[], seed: number): T[] {
    const out = [...items];
    let state = seed;
    for (let i = out.length - 1; i > 0; i--) {
        state = (state * 1103515245 + 12345) % 2147483648;
        const j = state % (i + 1);
        [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
}

const orders: Array<[string, number[]]> = [
    ["creation order", stacks.map((_, i) => i)],
    ["reverse order", stacks.map((_, i) => stacks.length - 1 - i)],
    ["odd first, then even", [1, 3, 5, 7, 9, 0, 2, 4, 6, 8]],
    [
        "shuffled (seed 7)",
        shuffled(
            stacks.map((_, i) => i),
            7,
        ),
    ],
    [
        "shuffled (seed 42)",
        shuffled(
            stacks.map((_, i) => i),
            42,
        ),
    ],
    ["all at once", []],
];

/** One CA per registry: stacks that share a registry share its CA, as they would share the registry. */
const caOf = (dir: string) => {
    const certs = new Map<string, string>();
    return (registry: string) => {
        if (!certs.has(registry)) {
            const host = registry.replace(/:.*/, "");
            certs.set(registry, makeSelfSignedCertificate(path.join(dir, `tls-${registry}`), host).certPem);
        }
        return certs.get(registry)!;
    };
};

describe("ten stacks sharing one hosts file, one daemon.json and one certs.d", () => {
    let dir: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "dr-shared-"));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    test.each(orders)(
        "created concurrently, destroyed in %s: every file and directory comes back as it was",
        async (_name, order) => {
            const work = path.join(dir, "work");
            fs.mkdirSync(work);
            const hostsFile = path.join(work, "hosts");
            const dockerDir = path.join(work, "docker");
            const daemonJson = path.join(dockerDir, "daemon.json");
            const certsDir = path.join(dockerDir, "certs.d");
            fs.writeFileSync(hostsFile, userHosts);
            fs.mkdirSync(dockerDir);
            fs.writeFileSync(daemonJson, userDaemonJson);
            const ca = caOf(dir);
            const before = snapshot(work);
            // An order names each of the ten stacks once, or none (all at once).
            expect(stacks).toHaveLength(10);
            expect(order).toHaveLength(order.length === 0 ? 0 : stacks.length);
            expect(new Set(order).size).toBe(order.length);
            const hostsEnv = (s: (typeof stacks)[0]) => ({
                DR_HOSTS_FILE: hostsFile,
                DR_ADDRESS: "192.0.2.10",
                DR_HOSTNAME: s.hostname,
                DR_OWNER: s.owner,
                DR_SUDO: "never",
            });
            const trustEnv = (s: (typeof stacks)[0]) => ({
                DR_TRUST_MODE: "insecure",
                DR_REGISTRY: s.registry,
                DR_DAEMON_CONFIG: daemonJson,
                DR_CERTS_DIR: certsDir,
                DR_SUDO: "never",
                DR_OWNER: s.owner,
            });
            // Each stack trusts its registry both ways, so that one round covers daemon.json and certs.d.
            const caEnv = (s: (typeof stacks)[0]) => ({
                ...trustEnv(s),
                DR_TRUST_MODE: "ca",
                DR_CA_CERTIFICATE: ca(s.registry),
            });

            const created = await Promise.all(
                stacks.map(async s => {
                    const [hosts, trust, caTrust] = await Promise.all([
                        runCommandScriptAsync("hostsEntry.js", "add", hostsEnv(s)),
                        runCommandScriptAsync("dockerTrust.js", "add", trustEnv(s)),
                        runCommandScriptAsync("dockerTrust.js", "add", caEnv(s)),
                    ]);
                    expect(
                        `${s.owner}: ${hosts.stderr}${trust.stderr.replace(/docker trust: daemon.json changed.*\n/, "")}${caTrust.stderr}`,
                    ).toBe(`${s.owner}: `);
                    return { hosts, trust, caTrust };
                }),
            );
            const hostsLines = fs
                .readFileSync(hostsFile, "utf8")
                .split("\n")
                .filter(l => l.includes("# distribution-registry: "));
            expect(hostsLines).toHaveLength(stacks.length);
            const listed = JSON.parse(fs.readFileSync(daemonJson, "utf8"))["insecure-registries"];
            expect([...listed].sort()).toEqual([...new Set(stacks.map(s => s.registry))].sort());
            const registries = [...new Set(stacks.map(s => s.registry))].sort();
            // Six hostnames, and the registry the user listed already.
            expect(registries).toHaveLength(7);
            expect(fs.readdirSync(certsDir).sort()).toEqual(registries);
            for (const registry of registries) {
                expect(fs.readFileSync(path.join(certsDir, registry, "ca.crt"), "utf8")).toBe(ca(registry));
            }

            const remove = (i: number) =>
                Promise.all([
                    runCommandScriptAsync("hostsEntry.js", "remove", {
                        ...hostsEnv(stacks[i]),
                        PULUMI_COMMAND_STDOUT: created[i].hosts.stdout,
                    }),
                    runCommandScriptAsync("dockerTrust.js", "remove", {
                        ...trustEnv(stacks[i]),
                        PULUMI_COMMAND_STDOUT: created[i].trust.stdout,
                    }),
                    runCommandScriptAsync("dockerTrust.js", "remove", {
                        ...caEnv(stacks[i]),
                        PULUMI_COMMAND_STDOUT: created[i].caTrust.stdout,
                    }),
                ]);
            if (order.length === 0) {
                await Promise.all(stacks.map((_, i) => remove(i)));
            } else {
                for (const i of order) {
                    const results = await remove(i);
                    expect(
                        results.map(
                            r => `${r.status} ${r.stderr.replace(/docker trust: daemon.json changed.*\n/, "")}`,
                        ),
                    ).toEqual(["0 ", "0 ", "0 "]);
                    // Until the last stack goes, what the others need stays: their registry listed, their CA in place.
                    const left = order.slice(order.indexOf(i) + 1);
                    const still = left.length
                        ? JSON.parse(fs.readFileSync(daemonJson, "utf8"))["insecure-registries"]
                        : [];
                    expect(
                        left.map(
                            j =>
                                `${stacks[j].registry}: ${still.includes(stacks[j].registry)} ${fs.existsSync(path.join(certsDir, stacks[j].registry, "ca.crt"))}`,
                        ),
                    ).toEqual(left.map(j => `${stacks[j].registry}: true true`));
                }
            }
            expect(fs.readFileSync(hostsFile, "utf8")).toBe(userHosts);
            expect(fs.readFileSync(daemonJson, "utf8")).toBe(userDaemonJson);
            expect(snapshot(work)).toEqual(before);
        },
        180000,
    );

    test("a daemon.json that did not exist is created by the first stack and removed by the last, in any order", async () => {
        const dockerDir = path.join(dir, "docker");
        fs.mkdirSync(dockerDir);
        const daemonJson = path.join(dockerDir, "daemon.json");
        const env = (s: (typeof stacks)[0]) => ({
            DR_TRUST_MODE: "insecure",
            DR_REGISTRY: s.registry,
            DR_DAEMON_CONFIG: daemonJson,
            DR_CERTS_DIR: "",
            DR_SUDO: "never",
            DR_OWNER: s.owner,
        });
        const fullOrders = orders.slice(0, 5);
        expect(fullOrders.map(([, order]) => order.length)).toEqual([10, 10, 10, 10, 10]);
        for (const [, order] of fullOrders) {
            expect(order).toHaveLength(stacks.length);
            const created = await Promise.all(stacks.map(s => runCommandScriptAsync("dockerTrust.js", "add", env(s))));
            expect(created.map(c => c.status)).toEqual(stacks.map(() => 0));
            for (const i of order) {
                await runCommandScriptAsync("dockerTrust.js", "remove", {
                    ...env(stacks[i]),
                    PULUMI_COMMAND_STDOUT: created[i].stdout,
                });
            }
            expect(fs.readdirSync(dockerDir)).toEqual([]);
        }
    }, 120000);

    test.each([
        ["a certs.d that did not exist", false],
        ["a certs.d holding the user's own registry", true],
    ] as Array<[string, boolean]>)(
        "one hostname's ca.crt, trusted by all ten in %s, stays until the last of them goes, in any order",
        async (_name, userCerts) => {
            const cert = makeSelfSignedCertificate(path.join(dir, "tls"), "shared.test").certPem;
            const dockerDir = path.join(dir, "docker");
            const certsDir = path.join(dockerDir, "certs.d");
            fs.mkdirSync(dockerDir);
            if (userCerts) {
                fs.mkdirSync(path.join(certsDir, "other.test"), { recursive: true });
                fs.writeFileSync(path.join(certsDir, "other.test", "ca.crt"), "the user's");
            }
            const before = snapshot(dockerDir);
            const env = (s: (typeof stacks)[0]) => ({
                DR_TRUST_MODE: "ca",
                DR_REGISTRY: "shared.test",
                DR_DAEMON_CONFIG: "",
                DR_CERTS_DIR: certsDir,
                DR_CA_CERTIFICATE: cert,
                DR_SUDO: "never",
                DR_OWNER: s.owner,
            });
            expect(orders).toHaveLength(6);
            for (const [name, order] of orders) {
                expect(order).toHaveLength(order.length === 0 ? 0 : stacks.length);
                const created = await Promise.all(
                    stacks.map(s => runCommandScriptAsync("dockerTrust.js", "add", env(s))),
                );
                expect(created.map(c => `${c.status} ${c.stderr}`)).toEqual(stacks.map(() => "0 "));
                expect(fs.readFileSync(path.join(certsDir, "shared.test", "ca.crt"), "utf8")).toBe(cert);
                const remove = (i: number) =>
                    runCommandScriptAsync("dockerTrust.js", "remove", {
                        ...env(stacks[i]),
                        PULUMI_COMMAND_STDOUT: created[i].stdout,
                    });
                if (order.length === 0) {
                    const removed = await Promise.all(stacks.map((_, i) => remove(i)));
                    expect(removed.map(r => `${r.status} ${r.stderr}`)).toEqual(stacks.map(() => "0 "));
                }
                for (let k = 0; k < order.length; k++) {
                    const removed = await remove(order[k]);
                    expect(`${removed.status} ${removed.stderr}`).toBe("0 ");
                    const left = fs.existsSync(path.join(certsDir, "shared.test", "ca.crt"));
                    expect(`${name}, after ${k + 1} of ${order.length}: ${left ? "trusted" : "gone"}`).toBe(
                        `${name}, after ${k + 1} of ${order.length}: ${k + 1 < order.length ? "trusted" : "gone"}`,
                    );
                }
                expect([name, snapshot(dockerDir)]).toEqual([name, before]);
            }
        },
        300000,
    );
});
