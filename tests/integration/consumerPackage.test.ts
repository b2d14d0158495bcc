import * as childProcess from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as ts from "typescript";
import { installConsumerStack } from "../support/consumerStack";
import { serializedProvidersFile } from "../../components/verification/providerText";

// Reuse from another stack, as a user does it: `npm pack` this project, install the tarball into the
// minimal TypeScript program of tests/consumer (with its own @pulumi/pulumi), and run that program the way
// Pulumi's Node.js runtime does, through ts-node, under Pulumi's mocks. Nothing the consumer runs imports our sources.
//
// Offline and quick: the consumer's lock starts as a copy of this project's, so npm resolves every package
// at the version this project pins and takes it from the npm cache that `npm ci` filled (`--prefer-offline`: the
// registry is asked only for what the cache lacks, such as the metadata npm reads to place a peer dependency), and
// `--ignore-scripts` keeps the Pulumi packages' plugin downloads from running. The pack runs our `prepare`
// (the build). tests/engine/reuse.test.ts runs the same program on the real engine.

const repo = path.join(__dirname, "..", "..");
const shippedHost = "components/program/dynamicProviderHost/pulumi-resource-pulumi-nodejs";
const timings: Record<string, number> = {};
let work: string;
let consumer: string;
let tarball: string;
let tarballBytes: number;
let files: string[];
let fileModes: Record<string, number>;
let result: any;

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): string {
    const r = childProcess.spawnSync(cmd, args, {
        cwd,
        encoding: "utf8",
        env: { ...process.env, ...env },
        maxBuffer: 64 * 1024 * 1024,
    });
    if (r.status !== 0) {
        throw new Error(`${cmd} ${args.join(" ")} in ${cwd} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
    }
    return r.stdout;
}

function timed<T>(label: string, f: () => T): T {
    const start = Date.now();
    try {
        return f();
    } finally {
        timings[label] = (Date.now() - start) / 1000;
    }
}

/** Every @pulumi/pulumi package.json under a node_modules tree. */
function sdkCopies(dir: string): string[] {
    const found: string[] = [];
    const walk = (nm: string) => {
        if (!fs.existsSync(nm)) {
            return;
        }
        for (const entry of fs.readdirSync(nm)) {
            const pkgs = entry.startsWith("@")
                ? fs.readdirSync(path.join(nm, entry)).map(e => path.join(entry, e))
                : [entry];
            for (const p of pkgs) {
                const full = path.join(nm, p);
                if (p === path.join("@pulumi", "pulumi")) {
                    found.push(full);
                }
                walk(path.join(full, "node_modules"));
            }
        }
    };
    walk(path.join(dir, "node_modules"));
    return found;
}

beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "dr-consumer-"));
    const packed = timed("npm pack (runs the build)", () =>
        JSON.parse(run("npm", ["pack", "--json", "--pack-destination", work], repo)),
    );
    tarball = path.join(work, packed[0].filename);
    tarballBytes = fs.statSync(tarball).size;
    files = packed[0].files.map((f: { path: string }) => f.path);
    fileModes = Object.fromEntries(packed[0].files.map((f: { path: string; mode: number }) => [f.path, f.mode]));

    consumer = path.join(work, "consumer");
    timed("npm install of the tarball", () => installConsumerStack(consumer, tarball));

    const out = timed("the consumer under mocks (ts-node)", () =>
        run("node", ["-r", "ts-node/register", "mocks.ts"], consumer, {
            PULUMI_CONFIG: JSON.stringify({ "registry-consumer:password": "consumer-p4ss" }),
        }),
    );
    result = JSON.parse(out.trim().split("\n").pop()!);
}, 300000);

afterAll(() => {
    // Figures for the README (nothing asserts a time).
    console.log(
        `consumer test: ${JSON.stringify(timings)}; tarball ${(tarballBytes / 1024).toFixed(1)} KiB, ${files.length} files`,
    );
    if (work && !process.env.DR_CONSUMER_KEEP) {
        fs.rmSync(work, { recursive: true, force: true });
    }
});

describe("the packed package, installed into another TypeScript stack", () => {
    test("the tarball holds compiled JavaScript, declarations and the scripts, no TypeScript sources", () => {
        // What it must hold, from the source tree: each components/**/*.ts compiled (.js, .js.map) and declared (.d.ts),
        // each script (the files of a scripts folder) as it is, the package.json and the README. Nothing else.
        const sources = (dir: string): string[] =>
            fs.readdirSync(path.join(repo, dir), { withFileTypes: true }).flatMap(e => {
                const rel = path.join(dir, e.name);
                return e.isDirectory() ? sources(rel) : [rel];
            });
        const components = sources("components");
        const scripts = components.filter(f => path.basename(path.dirname(f)) === "scripts");
        expect(scripts.sort()).toEqual([
            "components/garbageCollection/scripts/collectGarbage.sh",
            "components/garbageCollection/scripts/readOnlyWindow.sh",
            "components/pulling/scripts/nodeTrust.sh",
            "components/workstation/scripts/daemonConfig.js",
            "components/workstation/scripts/dockerTrust.js",
            "components/workstation/scripts/hostsEntry.js",
            "components/workstation/scripts/lockedFile.js",
            "components/workstation/scripts/pushImages.js",
            "components/workstation/scripts/report.js",
        ]);
        // What tsconfig.build.json compiles: components/ but for what it excludes (the repository's own writer of files).
        const build = ts.parseConfigFileTextToJson(
            "tsconfig.build.json",
            fs.readFileSync(path.join(repo, "tsconfig.build.json"), "utf8"),
        );
        const excluded: string[] = build.config.exclude ?? [];
        const compiled = components
            .filter(f => f.endsWith(".ts") && !excluded.includes(f))
            .flatMap(f => [".d.ts", ".js", ".js.map"].map(ext => `bin/${f.replace(/\.ts$/, ext)}`));
        expect(compiled.length).toBeGreaterThan(90);
        // And the checks' providers, serialized by the build (components/verification/providerText.ts), and the
        // dynamic-provider host with the module it preloads.
        const serialized = `bin/components/verification/${serializedProvidersFile}`;
        expect([...files].sort()).toEqual(
            [
                "README.md",
                "package.json",
                ...scripts.map(f => `bin/${f}`),
                ...compiled,
                serialized,
                `bin/${shippedHost}`,
                "bin/components/program/loadOnUse.js",
            ].sort(),
        );
    });

    test("the shipped dynamic-provider host runs from the consumer's folder: executable, it serves on a port", async () => {
        // What a consumer's Pulumi.yaml `plugins` block names (docs/reuse.md); the engine runs it in the program's folder.
        expect(fileModes[`bin/${shippedHost}`] & 0o111).toBe(0o111);
        const host = childProcess.spawn(
            path.join(consumer, "node_modules", "distribution-registry", "bin", shippedHost),
            ["127.0.0.1:1"],
            { cwd: consumer, stdio: ["ignore", "pipe", "pipe"] },
        );
        try {
            const firstLine = await new Promise<string>((resolve, reject) => {
                let out = "";
                host.stdout.on("data", d => {
                    out += d;
                    if (out.includes("\n")) resolve(out.split("\n")[0]);
                });
                host.on("exit", code => reject(new Error(`the host exited ${code} before it served`)));
            });
            expect(firstLine).toMatch(/^[1-9][0-9]*$/);
        } finally {
            host.kill();
        }
    });

    test("@pulumi/pulumi is a peer dependency: the consumer's tree holds one copy, which the package uses", () => {
        const installed = JSON.parse(
            fs.readFileSync(path.join(consumer, "node_modules", "distribution-registry", "package.json"), "utf8"),
        );
        expect(installed.dependencies["@pulumi/pulumi"]).toBeUndefined();
        expect(installed.peerDependencies["@pulumi/pulumi"]).toBe("^3.248.0");
        expect(sdkCopies(consumer)).toEqual([path.join(consumer, "node_modules", "@pulumi", "pulumi")]);
        expect(result.sdkOfPackage).toBe(result.sdk);
    });

    test("the program imports distribution-registry/components and builds the component on the consumer's mocks", () => {
        const kinds = result.registered.map((r: any) => `${r.type} ${r.name}`).sort();
        // The workstation steps are off in this stack: no checks, and the one Command keeps the generated TLS keys.
        expect(kinds).toEqual([
            "command:local:Command shared-tls-keys",
            "distribution-registry:index:DistributionRegistry shared",
            "kubernetes:apps/v1:DaemonSet shared-node-trust",
            "kubernetes:apps/v1:Deployment shared-deployment",
            "kubernetes:core/v1:ConfigMap shared-config",
            "kubernetes:core/v1:ConfigMap shared-local-registry-hosting",
            "kubernetes:core/v1:ConfigMap shared-node-trust-script",
            "kubernetes:core/v1:Namespace shared-namespace",
            "kubernetes:core/v1:Secret shared-secret",
            "kubernetes:core/v1:Secret shared-tls",
            "kubernetes:core/v1:Service shared-service",
            "kubernetes:networking.k8s.io/v1:Ingress shared-ingress",
            "pulumi:providers:kubernetes cluster",
            "random:index/randomPassword:RandomPassword shared-bcrypt-salt-key",
            "random:index/randomPassword:RandomPassword shared-http-secret",
            "random:index/randomPassword:RandomPassword shared-pull-password",
        ]);
        expect(result.outputs).toEqual({
            url: "https://registry.consumer.test",
            namespace: "consumer",
            htpasswdIsSecret: true,
        });
        expect(result.rootExportIsComponents).toBe(true);
        // The node-trust script the installed package reads from its own files: the repository's, byte for byte.
        const script = result.registered.find((r: any) => r.name === "shared-node-trust-script");
        expect(script.inputs.data["nodeTrust.sh"]).toBe(
            fs.readFileSync(path.join(repo, "components", "pulling", "scripts", "nodeTrust.sh"), "utf8"),
        );
    });

    test("the import type-checks with Node16+ resolution too (Pulumi's ts-node default without a tsconfig)", () => {
        // The run above used the consumer's tsconfig (commonjs, "node" resolution: typesVersions); this is `exports`.
        timed("tsc with nodenext resolution", () =>
            run(
                "node",
                [
                    require.resolve("typescript/bin/tsc", { paths: [consumer] }),
                    "--noEmit",
                    "-p",
                    ".",
                    "--module",
                    "nodenext",
                    "--moduleResolution",
                    "nodenext",
                ],
                consumer,
            ),
        );
    }, 120000);

    test("the explicit Kubernetes provider of the consumer reaches every Kubernetes object", () => {
        const objects = result.registered.filter(
            (r: any) => r.type.startsWith("kubernetes:") && !r.type.startsWith("pulumi:providers"),
        );
        expect(objects.map((o: any) => o.name).sort()).toEqual([
            "shared-config",
            "shared-deployment",
            "shared-ingress",
            "shared-local-registry-hosting",
            "shared-namespace",
            "shared-node-trust",
            "shared-node-trust-script",
            "shared-secret",
            "shared-service",
            "shared-tls",
        ]);
        for (const o of objects) {
            expect(`${o.name}: ${o.provider}`).toMatch(
                new RegExp(`^${o.name}: urn:pulumi:test::registry-consumer::pulumi:providers:kubernetes::cluster::`),
            );
        }
    });
});
