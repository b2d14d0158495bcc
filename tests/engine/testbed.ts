import * as childProcess from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as https from "https";
import * as os from "os";
import * as path from "path";
import * as tls from "tls";
import { renderRegistryConfig } from "../../components/registryConfig";
import { settingsFromArgs } from "../../components/settings";
import { RunningRegistry, startRegistry } from "../support/registryProcess";
import { manifestTypes } from "../support/registryImages";
import { makePulumiProject, PulumiProject } from "./pulumiProject";
import {
    imageReference,
    imagesDir,
    machineState,
    RealNodeCluster,
    run,
    startRealNodeCluster,
    waitFor,
} from "./realNode";

/*
 * What every real-node test file stands on: the single-node cluster, the workstation the program edits (copies of
 * /etc/hosts and /etc/docker, a Docker engine that reads them), a registry on loopback standing in for Docker Hub,
 * a Terraform state with the credentials, and a copy of the program with a local backend. Each test file starts
 * one, and stops it (putting the machine back) at its end.
 */

export const ingressAddress = "127.0.0.2";
export const otherIngressAddress = "127.0.0.3";
export const hostname = "registry.test";
export const username = "registry-admin";
// Quotes and a command substitution: nothing may ever run it.
export const password = `E2e p@ss "w'ord" $(touch /tmp/dr-e2e-pwned)`;
export const daemonJsonBefore = '{\n  "log-level": "warn"\n}\n';
export const appsNamespace = "e2e-apps";
/** The registry's own pods (its selector labels): not node trust's, nor the garbage-collection job's, of the same instance. */
export const registryPods = "app.kubernetes.io/name=registry,app.kubernetes.io/instance=registry";
export const dockerdScript = path.join(__dirname, "dockerd.sh");
export interface IngressResponse {
    status: number;
    headers: any;
    body: string;
    certificate: tls.PeerCertificate;
}

export interface Testbed {
    work: string;
    cluster: RealNodeCluster;
    project: PulumiProject;
    hub: RunningRegistry;
    hostsCopy: string;
    hostsBefore: Buffer;
    dockerEtc: string;
    /** /etc/docker as the user has it before the program touches it (dockerd's own files included). */
    dockerEtcBefore: Record<string, string>;
    dockerState: string;
    /** The Terraform state the stacks read their address and credentials from. */
    terraformState: string;
    /** The machine before the cluster and the Docker engine started. */
    machineBefore: Record<string, string>;
    /** The node's hosts file and containerd's certs directory before any stack: node trust gives both back. */
    nodeHostsBefore: Buffer;
    nodeCertsBefore: Record<string, string>;
    /** The test's Docker CLI, talking to the test's engine. */
    docker(args: string[]): string;
    dockerdPid(): string;
    /** skopeo where the registry's name resolves through the test's hosts copy. */
    skopeo(args: string[], input?: string): void;
    /**
     * An HTTPS request to Traefik at `address` for the registry's host, with the registry credentials. With `ca`,
     * the certificate must chain to it and name the host; without, it is not verified (Traefik's default certificate).
     */
    throughIngress(
        method: string,
        urlPath: string,
        options?: { address?: string; accept?: string; auth?: boolean; ca?: string },
    ): Promise<IngressResponse>;
    /** The digest Traefik serves for repository:tag. */
    servedDigest(repository: string, tag: string, address?: string): Promise<string>;
    /** A stack's config file: the lines every scenario shares, then `extra` ("key: value", or indented list items). */
    writeStackConfig(stack: string, extra: string[]): void;
    /** Stops the Docker Hub stand-in, the Docker engine and the cluster (once: a second call does nothing). */
    stop(): Promise<void>;
}

/** k3s's CustomResourceDefinition of helm.cattle.io/v1 HelmChartConfig (the fields this project sets). */
const helmChartConfigDefinition = {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: "helmchartconfigs.helm.cattle.io" },
    spec: {
        group: "helm.cattle.io",
        scope: "Namespaced",
        names: { kind: "HelmChartConfig", plural: "helmchartconfigs", singular: "helmchartconfig" },
        versions: [
            {
                name: "v1",
                served: true,
                storage: true,
                schema: {
                    openAPIV3Schema: {
                        type: "object",
                        properties: {
                            spec: {
                                type: "object",
                                properties: { valuesContent: { type: "string" }, failurePolicy: { type: "string" } },
                            },
                        },
                    },
                },
            },
        ],
    },
};

export async function startTestbed(name: string): Promise<Testbed> {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), `dr-${name}-`));
    fs.mkdirSync(path.join(work, "logs"));
    const machineBefore = machineState();
    const cluster = startRealNodeCluster(path.join(work, "cluster"));
    let hub: RunningRegistry | undefined;
    const dockerState = path.join(work, "docker");
    let stopped = false;
    const stop = async () => {
        if (stopped) {
            return;
        }
        stopped = true;
        await hub?.stop();
        childProcess.spawnSync(dockerdScript, ["stop", dockerState], { stdio: "inherit" });
        cluster.stop();
    };
    try {
        await cluster.api.request("POST", "/api/v1/namespaces", {
            apiVersion: "v1",
            kind: "Namespace",
            metadata: { name: appsNamespace },
        });
        // k3s registers its helm controller's HelmChartConfig type; so does the testbed (no helm controller runs here,
        // so the opt-in object is checked as the API server stores it, not applied to Traefik).
        await cluster.api.request(
            "POST",
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            helmChartConfigDefinition,
        );
        await waitFor("the HelmChartConfig type to be served", 60, async () =>
            (await cluster.api.request("GET", "/apis/helm.cattle.io/v1/namespaces/kube-system/helmchartconfigs"))
                .status === 200
                ? true
                : undefined,
        );

        // No one edits the node: node trust (the program's DaemonSet) writes what it needs, and takes it away.
        const nodeHostsBefore = fs.readFileSync(cluster.nodeHosts);
        const nodeCertsBefore = treeState(cluster.nodeCertsDir);

        const hostsCopy = path.join(work, "hosts");
        fs.copyFileSync("/etc/hosts", hostsCopy);
        const hostsBefore = fs.readFileSync(hostsCopy);
        const dockerEtc = path.join(work, "etc-docker");
        fs.mkdirSync(dockerEtc);
        fs.writeFileSync(path.join(dockerEtc, "daemon.json"), daemonJsonBefore);
        run(dockerdScript, ["start", dockerState, hostsCopy, dockerEtc]);
        const dockerEtcBefore = treeState(dockerEtc);

        // A plain-HTTP registry on loopback stands in for Docker Hub, holding the e2e-hello image built on this machine.
        hub = await startRegistry({
            config: renderRegistryConfig(settingsFromArgs("hub", { storage: { type: "emptyDir" } })),
        });
        run("skopeo", [
            "copy",
            "--dest-tls-verify=false",
            `docker-archive:${path.join(imagesDir, "e2e-hello.tar")}`,
            `docker://127.0.0.1:${hub.port}/library/e2e-hello:v1`,
        ]);

        const terraformState = path.join(work, "terraform.tfstate");
        fs.writeFileSync(
            terraformState,
            JSON.stringify({
                version: 4,
                terraform_version: "1.11.4",
                serial: 1,
                lineage: "e2e",
                outputs: {
                    vm_public_ip: { value: ingressAddress, type: "string" },
                    container_registry_username: { value: username, type: "string" },
                    container_registry_password: { value: password, type: "string", sensitive: true },
                },
                resources: [],
            }),
        );
        const project = makePulumiProject({
            work,
            hostsFile: hostsCopy,
            dockerEtc,
            kubeconfig: cluster.kubeconfig,
            env: { DOCKER_HOST: `unix://${dockerState}/docker.sock` },
        });
        const throughIngress: Testbed["throughIngress"] = (method, urlPath, options = {}) =>
            new Promise((resolve, reject) => {
                const req = https.request(
                    {
                        host: options.address ?? ingressAddress,
                        port: 443,
                        path: urlPath,
                        method,
                        servername: hostname,
                        ...(options.ca ? { ca: options.ca, rejectUnauthorized: true } : { rejectUnauthorized: false }),
                        agent: false,
                        ...(options.auth === false ? {} : { auth: `${username}:${password}` }),
                        headers: { Host: hostname, ...(options.accept ? { Accept: options.accept } : {}) },
                    },
                    res => {
                        let body = "";
                        res.on("data", d => {
                            body += d;
                        });
                        res.on("end", () =>
                            resolve({
                                status: res.statusCode ?? 0,
                                headers: res.headers,
                                body,
                                certificate: (res.socket as tls.TLSSocket).getPeerCertificate(),
                            }),
                        );
                    },
                );
                req.on("error", reject);
                req.end();
            });
        const testbed: Testbed = {
            work,
            cluster,
            nodeHostsBefore,
            nodeCertsBefore,
            project,
            hub,
            hostsCopy,
            hostsBefore,
            dockerEtc,
            dockerEtcBefore,
            dockerState,
            terraformState,
            machineBefore,
            docker: args => run("/usr/bin/docker", ["-H", `unix://${dockerState}/docker.sock`, ...args]),
            dockerdPid: () => fs.readFileSync(path.join(dockerState, "dockerd.pid"), "utf8").trim(),
            skopeo: (args, input) => {
                run(
                    "unshare",
                    [
                        "--mount",
                        "--propagation",
                        "private",
                        "sh",
                        "-c",
                        'mount --bind "$1" /etc/hosts && shift && exec skopeo "$@"',
                        "sh",
                        hostsCopy,
                        ...args,
                    ],
                    { input, stdio: ["pipe", "pipe", "pipe"] },
                );
            },
            throughIngress,
            servedDigest: async (repository, tag, address) =>
                (
                    await throughIngress("HEAD", `/v2/${repository}/manifests/${tag}`, {
                        address,
                        accept: manifestTypes,
                    })
                ).headers["docker-content-digest"],
            writeStackConfig: (stack, extra) =>
                fs.writeFileSync(
                    path.join(project.dir, `Pulumi.${stack}.yaml`),
                    [
                        "config:",
                        `  distribution-registry:terraformStateFile: ${terraformState}`,
                        "  distribution-registry:createNamespace: true",
                        "  distribution-registry:verifyDeadlineSeconds: 180",
                        // The garbage-collection job's kubectl, built here: the node pulls nothing from the internet.
                        `  distribution-registry:gcKubectlImage: ${imageReference("kubectl")}`,
                        // containerd's config_path on this node (start-cluster.sh), where node trust writes hosts.toml.
                        `  distribution-registry:nodeTrustCertsDir: ${cluster.nodeCertsDir}`,
                        // A key line gets the project's prefix; an indented line (a list item) is written as it is.
                        ...extra.map(line => (/^\s/.test(line) ? `  ${line}` : `  distribution-registry:${line}`)),
                        "",
                    ].join("\n"),
                ),
            stop,
        };
        return testbed;
    } catch (e) {
        await stop();
        throw e;
    }
}

/** Every file and directory under `dir`, with its mode and (for files) a hash of its bytes: what "as before" compares. */
export function treeState(dir: string): Record<string, string> {
    const state: Record<string, string> = {};
    const walk = (rel: string) => {
        for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
            const entryRel = path.join(rel, entry.name);
            const full = path.join(dir, entryRel);
            const mode = (fs.lstatSync(full).mode & 0o7777).toString(8);
            if (entry.isDirectory()) {
                state[`${entryRel}/`] = `dir ${mode}`;
                walk(entryRel);
            } else {
                const hash = crypto.createHash("sha256").update(fs.readFileSync(full)).digest("hex");
                state[entryRel] = `file ${mode} ${hash}`;
            }
        }
    };
    walk("");
    return state;
}

/** Removes the testbed's working directory, unless DR_E2E_KEEP=1 asks to keep its logs. */
export function removeWork(work: string): void {
    if (process.env.DR_E2E_KEEP !== "1") {
        fs.rmSync(work, { recursive: true, force: true });
    } else {
        console.log(`kept ${work}`);
    }
}
