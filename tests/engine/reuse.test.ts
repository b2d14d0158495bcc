import * as childProcess from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as grpc from "@grpc/grpc-js";
import { ComponentProvider, getPulumiComponents } from "@pulumi/pulumi/provider/experimental";
import { installConsumerStack } from "../support/consumerStack";
import { itWhen } from "../support/requirements";
import { KubernetesApi, kubernetesApi } from "./kubernetesApi";
import { imageReference } from "./realNode";

/**
 * Reuse on the real engine (README "Reuse the component"): against the single-node cluster of
 * start-cluster.sh, with the Pulumi CLI, the Kubernetes and random providers built by build-tools.sh,
 *  - the TypeScript stack of tests/consumer, with the packed package installed from its tarball;
 *  - a Pulumi YAML stack that names this project under `packages:` and uses
 *    distribution-registry:index:DistributionRegistry: the engine runs the component as a Node.js plugin
 *    (our language host's RunPlugin -> @pulumi/pulumi/cmd/run-plugin), with the schema inferred from args.ts;
 * each with an explicit Kubernetes provider, through `up`, a `preview` that must show no changes, and `destroy`.
 * The workstation steps are off (no Docker, no hosts file): what is reused here is the Kubernetes part.
 */
const repo = path.resolve(__dirname, "..", "..");
const toolsBin = childProcess
    .spawnSync(path.join(__dirname, "build-tools.sh"), ["--print-bin"], { encoding: "utf8" })
    .stdout.trim();
// start-cluster.sh's single real node: its control plane, kubelet, kube-proxy, Traefik and local-path, as root.
const requiredTools = [
    "pulumi",
    "pulumi-language-nodejs",
    "pulumi-language-yaml",
    "pulumi-resource-random",
    "pulumi-resource-kubernetes",
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "kube-proxy",
    "traefik",
    "local-path-provisioner",
];
const missingTools = requiredTools.filter(t => !fs.existsSync(path.join(toolsBin, t)));
const isRoot = process.getuid?.() === 0;
const e2e = itWhen(
    missingTools.length === 0 && isRoot,
    !isRoot
        ? "needs root (start-cluster.sh runs a real node)"
        : `tools not built (run tests/engine/build-tools.sh): ${missingTools.join(", ")}`,
);
const hostBuilt = fs.existsSync(path.join(toolsBin, "pulumi-language-nodejs"));

// Ports of our own, so this control plane never meets another test's.
const clusterEnv = {
    DR_ETCD_PORT: "33379",
    DR_ETCD_PEER_PORT: "33380",
    DR_APISERVER_PORT: "37443",
    DR_KUBELET_PORT: "31250",
};
const password = 'reuse p@ss "w\'ord"';

let work: string;
let env: NodeJS.ProcessEnv;
let api: KubernetesApi;
let kubeconfig: string;
let pluginDir: string;
let tsStack: string;
let yamlStack: string;

function run(command: string, args: string[], options: childProcess.SpawnSyncOptions = {}): string {
    const r = childProcess.spawnSync(command, args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024, ...options });
    if (r.status !== 0) {
        throw new Error(`${command} ${args.join(" ")} failed (${r.status}): ${r.stderr}${r.stdout}`);
    }
    return String(r.stdout);
}

/**
 * A folder as a checkout of this project is, built, with its node_modules: what a stack names under `packages:`.
 * The CLI installs a plugin folder before it runs it (our host runs `npm install` there, as upstream's does, which
 * replaces the node_modules link by a real tree and runs `prepare`); RunPlugin alone uses the link.
 */
function makePluginDir(dir: string): void {
    fs.mkdirSync(dir);
    for (const f of [
        "package.json",
        "package-lock.json",
        "tsconfig.json",
        "tsconfig.build.json",
        "PulumiPlugin.yaml",
        "index.ts",
    ]) {
        fs.copyFileSync(path.join(repo, f), path.join(dir, f));
    }
    for (const d of ["components", "bin"]) {
        fs.cpSync(path.join(repo, d), path.join(dir, d), { recursive: true });
    }
    fs.symlinkSync(path.join(repo, "node_modules"), path.join(dir, "node_modules"));
}

/** The YAML stack: the component from the plugin folder, with an explicit Kubernetes provider. */
function yamlProgram(plugin: string): string {
    return [
        "name: registry-yaml",
        "runtime: yaml",
        "packages:",
        `  distribution-registry: ${plugin}`,
        "config:",
        "  kubeconfig: { type: string }",
        '  registryImage: { type: string, default: "registry:2.8.3" }',
        "  registryPassword: { type: string, secret: true }",
        "resources:",
        "  cluster:",
        "    type: pulumi:providers:kubernetes",
        '    properties: { kubeconfig: "${kubeconfig}" }',
        "  registry:",
        "    type: distribution-registry:index:DistributionRegistry",
        "    properties:",
        "      address: 127.0.0.2",
        "      username: yaml-admin",
        "      password: ${registryPassword}",
        "      hostname: registry.yaml.test",
        "      image: ${registryImage}",
        "      namespace: consumer-yaml",
        "      createNamespace: true",
        "      skipAwait: true",
        "      storage: { type: emptyDir }",
        "      workstation:",
        "        hostsEntry: { enabled: false }",
        "        dockerTrust: { mode: none }",
        "        push: { enabled: false }",
        "    options:",
        '      providers: [ "${cluster}" ]',
        "outputs:",
        "  url: ${registry.url}",
        "  namespace: ${registry.namespace}",
        "  htpasswd: ${registry.htpasswd}",
        "",
    ].join("\n");
}

/** The provider (the name in its reference) of every Kubernetes object of a stack export or a preview's steps. */
function kubernetesProviders(states: any[]): string[] {
    return states
        .filter(r => r?.type?.startsWith("kubernetes:"))
        .map(r => `${r.type}: ${String(r.provider).split("::").slice(-2)[0]}`);
}

/** Runs the CLI in a stack's folder; the whole output goes to logs/<step>.log. */
function pulumi(
    cwd: string,
    step: string,
    args: string[],
    extraEnv: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; output: string }> {
    const child = childProcess.spawn("pulumi", args, { cwd, env: { ...env, ...extraEnv } });
    let output = "";
    child.stdout.on("data", d => {
        output += d;
    });
    child.stderr.on("data", d => {
        output += d;
    });
    return new Promise(resolve =>
        child.on("close", code => {
            fs.writeFileSync(path.join(work, "logs", `${step}.log`), output);
            console.log(
                `[${step}] pulumi ${args.join(" ")} (exit ${code}), last lines:\n${output.split("\n").slice(-25).join("\n")}`,
            );
            resolve({ code, output });
        }),
    );
}

async function status(objectPath: string): Promise<string> {
    return `${objectPath}: ${(await api.request("GET", objectPath)).status}`;
}

/** `GET <path>: <status>` for each object path: compared as one list, so a missing object cannot hide. */
const statuses = (paths: string[]) => Promise.all(paths.map(p => status(p)));

const objects = (ns: string, name: string) => [
    `/api/v1/namespaces/${ns}`,
    `/api/v1/namespaces/${ns}/secrets/${name}`,
    `/api/v1/namespaces/${ns}/configmaps/${name}`,
    `/apis/apps/v1/namespaces/${ns}/deployments/${name}`,
    `/api/v1/namespaces/${ns}/services/${name}`,
    `/apis/networking.k8s.io/v1/namespaces/${ns}/ingresses/${name}`,
];

describe("our Node.js language host runs the component as a plugin", () => {
    // What the engine does first with a `packages:` entry, played here over gRPC: RunPlugin on the host, read
    // the port the plugin prints, ask that provider for its schema. Needs only the host (no CLI, no cluster).
    itWhen(hostBuilt, "pulumi-language-nodejs not built (run tests/engine/build-tools.sh)")(
        "RunPlugin serves the schema the SDK infers",
        async () => {
            const proto = (m: string) => require(`@pulumi/pulumi/proto/${m}`);
            const lang = proto("language_pb"),
                langGrpc = proto("language_grpc_pb"),
                prov = proto("provider_pb"),
                provGrpc = proto("provider_grpc_pb");
            await withPluginFolder("dr-plugin-", async (_dir, plugin) => {
                const host = childProcess.spawn(path.join(toolsBin, "pulumi-language-nodejs"), [], {
                    stdio: ["ignore", "pipe", "inherit"],
                });
                try {
                    const hostPort = await new Promise<string>(resolve =>
                        host.stdout.once("data", d => resolve(String(d).trim())),
                    );
                    const client = new langGrpc.LanguageRuntimeClient(
                        `127.0.0.1:${hostPort}`,
                        grpc.credentials.createInsecure(),
                    );
                    const info = new lang.ProgramInfo();
                    info.setRootDirectory(plugin);
                    info.setProgramDirectory(plugin);
                    info.setEntryPoint(".");
                    const req = new lang.RunPluginRequest();
                    req.setPwd(plugin);
                    req.setInfo(info);
                    req.setKind("resource");
                    req.setEnvList(Object.entries(process.env).map(([k, v]) => `${k}=${v}`));
                    const stream = client.runPlugin(req);
                    let stdout = "";
                    let stderr = "";
                    const pluginPort = await new Promise<string>((resolve, reject) => {
                        stream.on("data", (m: any) => {
                            stdout += Buffer.from(m.getStdout_asU8()).toString();
                            stderr += Buffer.from(m.getStderr_asU8()).toString();
                            const port = stdout.match(/^(\d+)\n/);
                            if (port) {
                                resolve(port[1]);
                            }
                        });
                        stream.on("error", reject);
                        stream.on("end", () =>
                            reject(new Error(`the plugin exited without serving: ${stdout}${stderr}`)),
                        );
                    });
                    const provider = new provGrpc.ResourceProviderClient(
                        `127.0.0.1:${pluginPort}`,
                        grpc.credentials.createInsecure(),
                    );
                    const served = await new Promise<any>((resolve, reject) =>
                        provider.getSchema(new prov.GetSchemaRequest(), (err: Error | null, res: any) =>
                            err ? reject(err) : resolve(JSON.parse(res.getSchema())),
                        ),
                    );
                    stream.cancel();
                    const inferred = JSON.parse(
                        await new ComponentProvider({
                            name: "distribution-registry",
                            dirname: plugin,
                            components: getPulumiComponents(require(path.join(plugin, "bin", "components"))),
                        }).getSchema(),
                    );
                    expect(Object.keys(served.resources)).toEqual(["distribution-registry:index:DistributionRegistry"]);
                    expect(served.resources).toEqual(inferred.resources);
                    expect(served.types).toEqual(inferred.types);
                } finally {
                    host.kill();
                }
            });
        },
        300000,
    );
});

/**
 * Ends, by process id, what still runs from a scratch folder of this test: a plugin whose host was stopped before
 * it could stop the plugin would otherwise outlive the test.
 */
function stopProcessesUnder(dir: string): void {
    for (const pid of fs.readdirSync("/proc").filter(p => /^\d+$/.test(p) && Number(p) !== process.pid)) {
        let cmdline: string;
        try {
            cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
        } catch (_) {
            continue;
        }
        if (cmdline.includes(dir)) {
            try {
                process.kill(Number(pid), "SIGKILL");
            } catch (_) {
                /* already gone */
            }
        }
    }
}

/**
 * The provider plugins this machine built, placed where the CLI's plugin install puts a release's, for the
 * versions the npm SDKs ask for: the language host reports those packages (as upstream's does), and the CLI
 * installs what a plugin folder needs before it runs it, which here would be a download.
 */
function preinstallPlugins(pulumiHome: string): void {
    for (const name of ["kubernetes", "random", "command"]) {
        const version = require(path.join(repo, "node_modules", "@pulumi", name, "package.json")).pulumi.version;
        const dir = path.join(pulumiHome, "plugins", `resource-${name}-v${version}`);
        fs.mkdirSync(dir, { recursive: true });
        fs.symlinkSync(path.join(toolsBin, `pulumi-resource-${name}`), path.join(dir, `pulumi-resource-${name}`));
    }
}

/** The CLI's environment in a scratch folder: its own home, state and passphrase; no cluster in reach. */
let built = false;

/** The compiled package (bin/components) that a plugin folder holds: built once per run, by whichever test comes first. */
function buildOnce(): void {
    if (!built) {
        run("npm", ["run", "build"], { cwd: repo });
        built = true;
    }
}

/** A scratch folder with the built plugin folder in it; after `body`, what still runs from it is stopped and it is removed. */
async function withPluginFolder(prefix: string, body: (dir: string, plugin: string) => Promise<void>): Promise<void> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    try {
        buildOnce();
        const plugin = path.join(dir, "distribution-registry");
        makePluginDir(plugin);
        await body(dir, plugin);
    } finally {
        stopProcessesUnder(dir);
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

function scratchCliEnv(dir: string): NodeJS.ProcessEnv {
    const cliEnv: NodeJS.ProcessEnv = {
        PATH: `${toolsBin}:${process.env.PATH}`,
        HOME: path.join(dir, "home"),
        PULUMI_HOME: path.join(dir, "pulumi-home"),
        PULUMI_BACKEND_URL: `file://${path.join(dir, "state")}`,
        PULUMI_CONFIG_PASSPHRASE: "preview",
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        KUBECONFIG: path.join(dir, "no-such-kubeconfig"),
        TMPDIR: os.tmpdir(),
        npm_config_cache: process.env.npm_config_cache ?? path.join(os.homedir(), ".npm"),
        npm_config_prefer_offline: "true",
    };
    fs.mkdirSync(cliEnv.HOME!);
    fs.mkdirSync(path.join(dir, "state"));
    preinstallPlugins(cliEnv.PULUMI_HOME!);
    return cliEnv;
}

describe("pulumi package get-schema on this project", () => {
    const missing = ["pulumi", "pulumi-language-nodejs"].filter(t => !fs.existsSync(path.join(toolsBin, t)));
    itWhen(missing.length === 0, `tools not built (run tests/engine/build-tools.sh): ${missing.join(", ")}`)(
        "prints the schema the SDK infers (the CLI installs the folder, then runs it as a plugin)",
        async () => {
            await withPluginFolder("dr-get-schema-", async (dir, plugin) => {
                const cliEnv = scratchCliEnv(dir);
                const printed = JSON.parse(run("pulumi", ["package", "get-schema", plugin], { cwd: dir, env: cliEnv }));
                const components = require(path.join(repo, "bin", "components"));
                const inferred = JSON.parse(
                    await new ComponentProvider({
                        name: "distribution-registry",
                        dirname: plugin,
                        components: getPulumiComponents(components),
                    }).getSchema(),
                );
                // The CLI reads the schema into its own types and prints them: the analyzer's `optional` marks,
                // which the schema format does not have, are dropped (`required` and `requiredInputs` say it),
                // and so are empty `required` lists.
                const dropped = (k: string, x: unknown) =>
                    k === "optional" || (k === "required" && Array.isArray(x) && x.length === 0);
                const dropOptional = (v: any): any =>
                    Array.isArray(v)
                        ? v.map(dropOptional)
                        : v && typeof v === "object"
                          ? Object.fromEntries(
                                Object.entries(v)
                                    .filter(([k, x]) => !dropped(k, x))
                                    .map(([k, x]) => [k, dropOptional(x)]),
                            )
                          : v;
                expect(Object.keys(printed.resources)).toEqual(["distribution-registry:index:DistributionRegistry"]);
                expect(printed.resources).toEqual(dropOptional(inferred.resources));
                expect(printed.types).toEqual(dropOptional(inferred.types));
            });
        },
        600000,
    );
});

describe("a Pulumi YAML stack previews the component, no cluster needed", () => {
    // The engine loads the plugin (installs the folder, RunPlugin, schema), the YAML host type-checks the program
    // against the inferred schema, the plugin constructs the component, and its children are planned with the
    // stack's explicit provider. The kubeconfig names a server nobody serves, so nothing is created anywhere.
    const missing = [
        "pulumi",
        "pulumi-language-nodejs",
        "pulumi-language-yaml",
        "pulumi-resource-random",
        "pulumi-resource-kubernetes",
    ].filter(t => !fs.existsSync(path.join(toolsBin, t)));
    itWhen(missing.length === 0, `tools not built (run tests/engine/build-tools.sh): ${missing.join(", ")}`)(
        "pulumi preview plans every child, each Kubernetes object with the explicit provider",
        async () => {
            await withPluginFolder("dr-yaml-preview-", async (dir, plugin) => {
                const cliEnv = scratchCliEnv(dir);
                const stack = path.join(dir, "yaml-stack");
                fs.mkdirSync(stack);
                fs.writeFileSync(path.join(stack, "Pulumi.yaml"), yamlProgram(plugin));
                const unreachable = path.join(dir, "unreachable-kubeconfig");
                fs.writeFileSync(
                    unreachable,
                    [
                        "apiVersion: v1",
                        "kind: Config",
                        "current-context: c",
                        'clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]',
                        "users: [{name: u, user: {token: t}}]",
                        "contexts: [{name: c, context: {cluster: c, user: u}}]",
                        "",
                    ].join("\n"),
                );
                run("pulumi", ["stack", "init", "preview", "--secrets-provider", "passphrase", "--non-interactive"], {
                    cwd: stack,
                    env: cliEnv,
                });
                run("pulumi", ["config", "set", "kubeconfig", unreachable], { cwd: stack, env: cliEnv });
                run("pulumi", ["config", "set", "--secret", "registryPassword"], {
                    cwd: stack,
                    env: cliEnv,
                    input: password,
                });
                const preview = JSON.parse(
                    run("pulumi", ["preview", "--json", "--non-interactive"], { cwd: stack, env: cliEnv }),
                );
                const planned = preview.steps.map((st: any) => st.newState);
                const kinds = planned.map((r: any) => r.type).sort();
                // Every step of the plan: the stack, the explicit provider, the component and each child (no checks: push is off).
                expect(kinds).toEqual([
                    "command:local:Command",
                    "distribution-registry:index:DistributionRegistry",
                    "kubernetes:apps/v1:Deployment",
                    "kubernetes:core/v1:ConfigMap",
                    "kubernetes:core/v1:Namespace",
                    "kubernetes:core/v1:Secret",
                    "kubernetes:core/v1:Secret",
                    "kubernetes:core/v1:Service",
                    "kubernetes:networking.k8s.io/v1:Ingress",
                    "pulumi:providers:kubernetes",
                    "pulumi:pulumi:Stack",
                    "random:index/randomPassword:RandomPassword",
                    "random:index/randomPassword:RandomPassword",
                    "random:index/randomPassword:RandomPassword",
                ]);
                // The six objects of the registry and the generated certificate's Secret.
                const providers = kubernetesProviders(planned);
                expect(providers).toHaveLength(7);
                for (const p of providers) {
                    expect(p).toMatch(/: cluster$/);
                }
                expect(JSON.stringify(preview)).not.toContain("p@ss");
            });
        },
        600000,
    );
});

describe("on a local control plane (start-cluster.sh)", () => {
    // Only these tests need the cluster: its setup failing fails them, not the ones above.
    beforeAll(async () => {
        if (missingTools.length) {
            return;
        }
        work = fs.mkdtempSync(path.join(os.tmpdir(), "dr-reuse-"));
        fs.mkdirSync(path.join(work, "logs"));
        run(path.join(__dirname, "start-cluster.sh"), ["start", path.join(work, "cluster")], {
            stdio: "inherit",
            env: { ...process.env, ...clusterEnv },
        });
        kubeconfig = path.join(work, "cluster", "kubeconfig");
        api = kubernetesApi(kubeconfig);
        env = {
            PATH: `${toolsBin}:${process.env.PATH}`,
            HOME: path.join(work, "home"),
            PULUMI_HOME: path.join(work, "pulumi-home"),
            PULUMI_BACKEND_URL: `file://${path.join(work, "state")}`,
            PULUMI_CONFIG_PASSPHRASE: "reuse passphrase",
            PULUMI_SKIP_UPDATE_CHECK: "true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
            PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
            // Only the explicit providers know the cluster: a default provider would fail on this file.
            KUBECONFIG: path.join(work, "no-such-kubeconfig"),
            TMPDIR: os.tmpdir(),
            // The plugin's `npm install` (run by the CLI through our host) takes what it can from the user's npm cache.
            npm_config_cache: process.env.npm_config_cache ?? path.join(os.homedir(), ".npm"),
            npm_config_prefer_offline: "true",
        };
        fs.mkdirSync(path.join(work, "state"));
        fs.mkdirSync(env.HOME!);
        preinstallPlugins(env.PULUMI_HOME!);

        // The package as a user gets it: packed (which runs the build), then installed from the tarball.
        const packed = JSON.parse(run("npm", ["pack", "--json", "--pack-destination", work], { cwd: repo }));
        const tarball = path.join(work, packed[0].filename);
        tsStack = path.join(work, "ts-stack");
        installConsumerStack(tsStack, tarball);
        run("pulumi", ["stack", "init", "reuse", "--secrets-provider", "passphrase", "--non-interactive"], {
            cwd: tsStack,
            env,
        });
        run("pulumi", ["config", "set", "kubeconfig", kubeconfig, "--stack", "reuse"], { cwd: tsStack, env });
        run("pulumi", ["config", "set", "namespace", "consumer-ts", "--stack", "reuse"], { cwd: tsStack, env });
        run("pulumi", ["config", "set", "address", "127.0.0.2", "--stack", "reuse"], { cwd: tsStack, env });
        // The node pulls nothing from the internet: the registry image is the one build-images.sh imported.
        run("pulumi", ["config", "set", "image", imageReference("registry-2"), "--stack", "reuse"], {
            cwd: tsStack,
            env,
        });
        run("pulumi", ["config", "set", "--secret", "password", "--stack", "reuse"], {
            cwd: tsStack,
            env,
            input: password,
        });

        // The plugin: a checkout of this project, built (the pack above ran the build), with its node_modules.
        pluginDir = path.join(work, "distribution-registry");
        makePluginDir(pluginDir);

        yamlStack = path.join(work, "yaml-stack");
        fs.mkdirSync(yamlStack);
        fs.writeFileSync(path.join(yamlStack, "Pulumi.yaml"), yamlProgram(pluginDir));
        run("pulumi", ["stack", "init", "reuse", "--secrets-provider", "passphrase", "--non-interactive"], {
            cwd: yamlStack,
            env,
        });
        run("pulumi", ["config", "set", "kubeconfig", kubeconfig, "--stack", "reuse"], { cwd: yamlStack, env });
        run("pulumi", ["config", "set", "registryImage", imageReference("registry-2"), "--stack", "reuse"], {
            cwd: yamlStack,
            env,
        });
        run("pulumi", ["config", "set", "--secret", "registryPassword", "--stack", "reuse"], {
            cwd: yamlStack,
            env,
            input: password,
        });
    }, 900000);

    afterAll(() => {
        if (work) {
            childProcess.spawnSync(path.join(__dirname, "start-cluster.sh"), ["stop", path.join(work, "cluster")], {
                stdio: "inherit",
            });
            if (process.env.DR_E2E_KEEP !== "1") {
                fs.rmSync(work, { recursive: true, force: true });
            } else {
                console.log(`kept ${work}`);
            }
        }
    });

    describe("the component reused by another TypeScript stack, from the packed package", () => {
        e2e("pulumi up creates the objects through the explicit provider", async () => {
            const up = await pulumi(tsStack, "ts-up", [
                "up",
                "--yes",
                "--skip-preview",
                "--non-interactive",
                "--stack",
                "reuse",
            ]);
            expect(up.code).toBe(0);
            expect(await statuses(objects("consumer-ts", "shared"))).toEqual(
                objects("consumer-ts", "shared").map(p => `${p}: 200`),
            );
            const outputs = JSON.parse(
                run("pulumi", ["stack", "output", "--json", "--stack", "reuse"], { cwd: tsStack, env }),
            );
            expect(outputs.url).toBe("https://registry.consumer.test");
            expect(outputs.htpasswd).toBe("[secret]");
            const state = JSON.parse(run("pulumi", ["stack", "export", "--stack", "reuse"], { cwd: tsStack, env }))
                .deployment.resources;
            // The six objects of the registry and the generated certificate's Secret, each through the explicit provider.
            const providers = kubernetesProviders(state);
            expect(providers).toHaveLength(7);
            for (const p of providers) {
                expect(p).toMatch(/: cluster$/);
            }
        });

        e2e("a second preview shows no changes", async () => {
            expect(
                (
                    await pulumi(tsStack, "ts-preview", [
                        "preview",
                        "--expect-no-changes",
                        "--non-interactive",
                        "--stack",
                        "reuse",
                    ])
                ).code,
            ).toBe(0);
        });

        e2e("pulumi destroy removes every object", async () => {
            expect(
                (
                    await pulumi(tsStack, "ts-destroy", [
                        "destroy",
                        "--yes",
                        "--skip-preview",
                        "--non-interactive",
                        "--stack",
                        "reuse",
                    ])
                ).code,
            ).toBe(0);
            expect(await statuses(objects("consumer-ts", "shared"))).toEqual(
                objects("consumer-ts", "shared").map(p => `${p}: 404`),
            );
        });
    });

    describe("the component as a plugin, used by a Pulumi YAML stack", () => {
        e2e("pulumi up creates the objects through the explicit provider, with htpasswd secret", async () => {
            const up = await pulumi(yamlStack, "yaml-up", [
                "up",
                "--yes",
                "--skip-preview",
                "--non-interactive",
                "--stack",
                "reuse",
            ]);
            expect(up.code).toBe(0);
            expect(up.output).not.toContain("p@ss");
            expect(await statuses(objects("consumer-yaml", "registry"))).toEqual(
                objects("consumer-yaml", "registry").map(p => `${p}: 200`),
            );
            const outputs = JSON.parse(
                run("pulumi", ["stack", "output", "--json", "--stack", "reuse"], { cwd: yamlStack, env }),
            );
            expect(outputs.url).toBe("https://registry.yaml.test");
            expect(outputs.namespace).toBe("consumer-yaml");
            expect(outputs.htpasswd).toBe("[secret]");
            const exported = run("pulumi", ["stack", "export", "--stack", "reuse"], { cwd: yamlStack, env });
            expect(exported).not.toContain("p@ss");
            const providers = kubernetesProviders(JSON.parse(exported).deployment.resources);
            expect(providers).toHaveLength(7);
            for (const p of providers) {
                expect(p).toMatch(/: cluster$/);
            }
            const secret = (await api.request("GET", "/api/v1/namespaces/consumer-yaml/secrets/registry")).body;
            expect(Buffer.from(secret.data.htpasswd, "base64").toString()).toMatch(/^yaml-admin:\$2y\$05\$/);
        });

        e2e("a second preview shows no changes", async () => {
            expect(
                (
                    await pulumi(yamlStack, "yaml-preview", [
                        "preview",
                        "--expect-no-changes",
                        "--non-interactive",
                        "--stack",
                        "reuse",
                    ])
                ).code,
            ).toBe(0);
        });

        e2e("pulumi destroy removes every object", async () => {
            expect(
                (
                    await pulumi(yamlStack, "yaml-destroy", [
                        "destroy",
                        "--yes",
                        "--skip-preview",
                        "--non-interactive",
                        "--stack",
                        "reuse",
                    ])
                ).code,
            ).toBe(0);
            expect(await statuses(objects("consumer-yaml", "registry"))).toEqual(
                objects("consumer-yaml", "registry").map(p => `${p}: 404`),
            );
        });
    });
});
