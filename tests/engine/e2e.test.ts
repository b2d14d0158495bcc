import * as childProcess from "child_process";
import * as fs from "fs";
import * as https from "https";
import * as os from "os";
import * as path from "path";
import { renderRegistryConfig } from "../../components/registryConfig";
import { settingsFromArgs } from "../../components/settings";
import { makeOciImage } from "../support/ociImage";
import { RunningRegistry, startRegistry } from "../support/registryProcess";
import { hasCommand, itWhen } from "../support/requirements";
import { makeSelfSignedCertificate } from "../support/tls";
import { KubernetesApi, kubernetesApi } from "./kubernetesApi";

/**
 * `pulumi up`, `preview`, `refresh` and `destroy` of the real program on the real engine: the Pulumi CLI,
 * the Node.js language host and the providers built from Go modules (build-tools.sh), against a local API
 * server with kwok nodes (start-cluster.sh). No kubelet runs containers here, so a registry process at the
 * address stands in for the registry pod, and this test plays the kubelet (it copies the htpasswd from the
 * Secret to the registry, as the Secret mount would) and the ingress controller (it sets the Ingress's
 * load-balancer address, as Traefik's does). The hosts file and daemon.json are the real paths, inside a
 * private mount namespace, bound to copies.
 */
const repo = path.resolve(__dirname, "..", "..");
const toolsBin = childProcess.spawnSync(path.join(__dirname, "build-tools.sh"), ["--print-bin"], { encoding: "utf8" }).stdout.trim();
const requiredTools = ["pulumi", "pulumi-language-nodejs", "pulumi-resource-command", "pulumi-resource-random",
    "pulumi-resource-kubernetes", "etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"];
const missingTools = requiredTools.filter(t => !fs.existsSync(path.join(toolsBin, t)));
const missingCommands = ["unshare", "docker-registry", "skopeo", "htpasswd", "openssl", "curl"].filter(c => !hasCommand(c));
const isRoot = process.getuid?.() === 0;
const canRun = missingTools.length === 0 && missingCommands.length === 0 && isRoot;
const why = !isRoot ? "needs root (mount namespace, port 443)"
    : missingTools.length ? `tools not built (run tests/engine/build-tools.sh): ${missingTools.join(", ")}`
        : `missing commands: ${missingCommands.join(", ")}`;
const e2e = itWhen(canRun, why);

const address = "127.0.0.2";
const hostname = "registry.test";
const username = "registry-admin";
const password = `E2e p@ss "w'ord" $(touch /tmp/dr-e2e-pwned)`;
const daemonJsonBefore = "{\n  \"log-level\": \"warn\"\n}\n";

let work: string;
let project: string;
let env: NodeJS.ProcessEnv;
let api: KubernetesApi;
let registry: RunningRegistry | undefined;
let hostsCopy: string;
let hostsBefore: Buffer;
let dockerDir: string;
let image: ReturnType<typeof makeOciImage>;
let standIns: { stop(): Promise<void> } | undefined;

/** Runs the CLI in the project, inside a mount namespace where /etc/hosts and /etc/docker are our copies. */
function pulumi(step: string, args: string[]): Promise<{ code: number | null; output: string }> {
    const script = 'mount --bind "$1" /etc/hosts && mount --bind "$2" /etc/docker && shift 2 && exec pulumi "$@"';
    const child = childProcess.spawn("unshare", ["--mount", "sh", "-c", script, "sh", hostsCopy, dockerDir, ...args], { cwd: project, env });
    let output = "";
    child.stdout.on("data", d => { output += d; });
    child.stderr.on("data", d => { output += d; });
    return new Promise(resolve => child.on("close", code => {
        fs.writeFileSync(path.join(work, "logs", `${step}.log`), output);
        console.log(`pulumi ${args.join(" ")} (exit ${code}), last lines:\n${output.split("\n").slice(-25).join("\n")}`);
        resolve({ code, output });
    }));
}

function run(command: string, args: string[], options: childProcess.SpawnSyncOptions = {}): string {
    const r = childProcess.spawnSync(command, args, { encoding: "utf8", ...options });
    if (r.status !== 0) {
        throw new Error(`${command} ${args.join(" ")} failed (${r.status}): ${r.stderr}${r.stdout}`);
    }
    return String(r.stdout);
}

/** The kubelet's and the ingress controller's parts, on a loop while the CLI runs. */
function startStandIns(registryHtpasswd: string): { stop(): Promise<void> } {
    let running = true;
    const loop = (async () => {
        while (running) {
            const secret = await api.request("GET", "/api/v1/namespaces/examples/secrets/registry").catch(() => undefined);
            if (secret?.status === 200 && secret.body.data?.htpasswd) {
                const htpasswd = Buffer.from(secret.body.data.htpasswd, "base64").toString("utf8");
                if (fs.readFileSync(registryHtpasswd, "utf8") !== htpasswd) {
                    fs.writeFileSync(registryHtpasswd, htpasswd);
                }
            }
            const ingress = await api.request("GET", "/apis/networking.k8s.io/v1/namespaces/examples/ingresses/registry").catch(() => undefined);
            if (ingress?.status === 200 && !ingress.body.status?.loadBalancer?.ingress?.length) {
                await api.request("PATCH", "/apis/networking.k8s.io/v1/namespaces/examples/ingresses/registry/status",
                    { status: { loadBalancer: { ingress: [{ ip: address }] } } }, "application/merge-patch+json");
            }
            await new Promise(r => setTimeout(r, 300));
        }
    })();
    return { stop: async () => { running = false; await loop; } };
}

/** GET or HEAD on the stand-in registry with the Terraform credentials. */
function registryRequest(method: string, urlPath: string, accept?: string): Promise<{ status: number; headers: any; body: string }> {
    return new Promise((resolve, reject) => {
        const req = https.request({ host: address, port: 443, path: urlPath, method, servername: hostname, rejectUnauthorized: false,
            auth: `${username}:${password}`, headers: { Host: hostname, ...(accept ? { Accept: accept } : {}) } }, res => {
            let body = "";
            res.on("data", d => { body += d; });
            res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        });
        req.on("error", reject);
        req.end();
    });
}

beforeAll(async () => {
    if (!canRun) {
        return;
    }
    work = fs.mkdtempSync(path.join(os.tmpdir(), "dr-e2e-"));
    fs.mkdirSync(path.join(work, "logs"));
    // The program as a user has it: its files, this checkout's node_modules.
    project = path.join(work, "project");
    fs.mkdirSync(project);
    for (const f of ["Pulumi.yaml", "package.json", "tsconfig.json", "index.ts"]) {
        fs.copyFileSync(path.join(repo, f), path.join(project, f));
    }
    fs.cpSync(path.join(repo, "components"), path.join(project, "components"), { recursive: true });
    fs.symlinkSync(path.join(repo, "node_modules"), path.join(project, "node_modules"));
    // The CLI's release archive ships this shim for dynamic providers; a CLI built from source has none.
    const shims = path.join(work, "bin");
    fs.mkdirSync(shims);
    fs.writeFileSync(path.join(shims, "pulumi-resource-pulumi-nodejs"),
        "#!/bin/sh\nexec node ./node_modules/@pulumi/pulumi/cmd/dynamic-provider \"$@\"\n", { mode: 0o755 });

    run(path.join(__dirname, "start-cluster.sh"), ["start", path.join(work, "cluster")], { stdio: "inherit" });
    api = kubernetesApi(path.join(work, "cluster", "kubeconfig"));

    fs.writeFileSync(path.join(work, "terraform.tfstate"), JSON.stringify({
        version: 4, terraform_version: "1.11.4", serial: 1, lineage: "e2e", outputs: {
            vm_public_ip: { value: address, type: "string" },
            container_registry_username: { value: username, type: "string" },
            container_registry_password: { value: password, type: "string", sensitive: true },
        }, resources: [],
    }));

    const tls = makeSelfSignedCertificate(path.join(work, "tls"), hostname);
    registry = await startRegistry({
        host: address, port: 443, tls, htpasswd: "",
        config: renderRegistryConfig(settingsFromArgs("registry", {})),
        env: { REGISTRY_HTTP_SECRET: "e2e" },
    });
    standIns = startStandIns(path.join(registry.dir, "htpasswd"));
    image = makeOciImage(path.join(work, "image"), "v1");

    hostsCopy = path.join(work, "hosts");
    fs.copyFileSync("/etc/hosts", hostsCopy);
    hostsBefore = fs.readFileSync(hostsCopy);
    dockerDir = path.join(work, "etc-docker");
    fs.mkdirSync(dockerDir);
    fs.writeFileSync(path.join(dockerDir, "daemon.json"), daemonJsonBefore);

    fs.writeFileSync(path.join(project, "Pulumi.e2e.yaml"), [
        "config:",
        `  distribution-registry:terraformStateFile: ${path.join(work, "terraform.tfstate")}`,
        "  distribution-registry:createNamespace: true",
        "  distribution-registry:pushTool: skopeo",
        "  distribution-registry:pushImages:",
        `    - oci:${image.dir}:v1=hello:v1`,
        "  distribution-registry:verifyDeadlineSeconds: 180",
        "",
    ].join("\n"));
    env = {
        PATH: `${shims}:${toolsBin}:${process.env.PATH}`,
        HOME: path.join(work, "home"),
        PULUMI_HOME: path.join(work, "pulumi-home"),
        PULUMI_BACKEND_URL: `file://${path.join(work, "state")}`,
        PULUMI_CONFIG_PASSPHRASE: "e2e passphrase",
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
        KUBECONFIG: path.join(work, "cluster", "kubeconfig"),
        TMPDIR: os.tmpdir(),
    };
    fs.mkdirSync(path.join(work, "state"));
    fs.mkdirSync(env.HOME!);
    run("pulumi", ["stack", "init", "e2e", "--secrets-provider", "passphrase", "--non-interactive"], { cwd: project, env });
}, 600000);

afterAll(async () => {
    await standIns?.stop();
    await registry?.stop();
    if (work) {
        childProcess.spawnSync(path.join(__dirname, "start-cluster.sh"), ["stop", path.join(work, "cluster")], { stdio: "inherit" });
        if (process.env.DR_E2E_KEEP !== "1") {
            fs.rmSync(work, { recursive: true, force: true });
        } else {
            console.log(`kept ${work}`);
        }
    }
});

describe("the program on the real Pulumi engine and a local Kubernetes API server", () => {
    let upOutput = "";

    e2e("pulumi up succeeds", async () => {
        const up = await pulumi("up", ["up", "--yes", "--skip-preview", "--non-interactive", "--stack", "e2e"]);
        upOutput = up.output;
        expect(up.code).toBe(0);
    });

    e2e("the objects exist in the API server with the expected specs", async () => {
        expect((await api.request("GET", "/api/v1/namespaces/examples")).status).toBe(200);
        const deployment = (await api.request("GET", "/apis/apps/v1/namespaces/examples/deployments/registry")).body;
        expect(deployment.spec.replicas).toBe(1);
        expect(deployment.status.readyReplicas).toBe(1);
        const pod = deployment.spec.template.spec;
        expect(pod.containers[0].image).toBe("registry:2.8.3");
        expect(pod.containers[0].readinessProbe.httpGet.path).toBe("/");
        expect(pod.securityContext.runAsNonRoot).toBe(true);
        expect(deployment.spec.template.metadata.annotations["checksum/secret-and-config"]).toMatch(/^[0-9a-f]{64}$/);
        const ingress = (await api.request("GET", "/apis/networking.k8s.io/v1/namespaces/examples/ingresses/registry")).body;
        expect(ingress.spec.rules[0].host).toBe(hostname);
        expect(ingress.metadata.annotations["nginx.ingress.kubernetes.io/proxy-body-size"]).toBe("0");
        const service = (await api.request("GET", "/api/v1/namespaces/examples/services/registry")).body;
        expect(service.spec.ports[0].port).toBe(5000);
        const config = (await api.request("GET", "/api/v1/namespaces/examples/configmaps/registry")).body;
        expect(JSON.parse(config.data["config.yml"]).storage.delete.enabled).toBe(true);
    });

    e2e("the htpasswd read back from the Secret verifies with htpasswd", async () => {
        const secret = (await api.request("GET", "/api/v1/namespaces/examples/secrets/registry")).body;
        const file = path.join(work, "htpasswd-from-secret");
        fs.writeFileSync(file, Buffer.from(secret.data.htpasswd, "base64"));
        expect(childProcess.spawnSync("htpasswd", ["-v", "-i", file, username], { input: password }).status).toBe(0);
        expect(childProcess.spawnSync("htpasswd", ["-v", "-i", file, username], { input: "wrong" }).status).not.toBe(0);
    });

    e2e("the Commands ran: hosts line, daemon.json entry, pushed tag", async () => {
        expect(fs.readFileSync(hostsCopy, "utf8")).toContain(`${address} ${hostname} # distribution-registry: distribution-registry/e2e/registry\n`);
        expect(JSON.parse(fs.readFileSync(path.join(dockerDir, "daemon.json"), "utf8"))).toEqual({ "log-level": "warn", "insecure-registries": [hostname] });
        const tags = await registryRequest("GET", "/v2/hello/tags/list");
        expect(JSON.parse(tags.body)).toEqual({ name: "hello", tags: ["v1"] });
    });

    e2e("the verification resources passed and recorded the registry's digest", async () => {
        const head = await registryRequest("HEAD", "/v2/hello/manifests/v1",
            "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json");
        const outputs = JSON.parse(run("pulumi", ["stack", "output", "--json", "--stack", "e2e"], { cwd: project, env }));
        expect(outputs.digests).toEqual({ "hello:v1": head.headers["docker-content-digest"] });
        expect(outputs.url).toBe(`https://${hostname}`);
        expect(outputs.htpasswd).toBe("[secret]");
        expect(upOutput).not.toContain("p@ss");
    });

    e2e("pulumi stack export holds no plaintext password", () => {
        const exported = run("pulumi", ["stack", "export", "--stack", "e2e"], { cwd: project, env });
        expect(exported).toContain("ciphertext");
        expect(exported).not.toContain("p@ss");
        expect(exported).not.toContain(Buffer.from(password).toString("base64"));
    });

    e2e("a second pulumi preview reports no changes", async () => {
        const preview = await pulumi("preview", ["preview", "--expect-no-changes", "--non-interactive", "--stack", "e2e"]);
        expect(preview.code).toBe(0);
    });

    e2e("pulumi refresh reports no changes", async () => {
        const refresh = await pulumi("refresh", ["refresh", "--yes", "--expect-no-changes", "--non-interactive", "--stack", "e2e"]);
        expect(refresh.code).toBe(0);
    });

    e2e("pulumi destroy leaves no objects, and the hosts file and daemon.json byte-identical", async () => {
        const destroy = await pulumi("destroy", ["destroy", "--yes", "--skip-preview", "--non-interactive", "--stack", "e2e"]);
        expect(destroy.code).toBe(0);
        for (const objectPath of ["/apis/apps/v1/namespaces/examples/deployments/registry", "/api/v1/namespaces/examples/secrets/registry",
            "/api/v1/namespaces/examples/services/registry", "/apis/networking.k8s.io/v1/namespaces/examples/ingresses/registry",
            "/api/v1/namespaces/examples"]) {
            expect(`${objectPath}: ${(await api.request("GET", objectPath)).status}`).toBe(`${objectPath}: 404`);
        }
        expect(fs.readFileSync(hostsCopy)).toEqual(hostsBefore);
        expect(fs.readFileSync(path.join(dockerDir, "daemon.json"), "utf8")).toBe(daemonJsonBefore);
        expect(fs.existsSync("/tmp/dr-e2e-pwned")).toBe(false);
    });
});
