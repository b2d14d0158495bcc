import * as childProcess from "child_process";
import * as fs from "fs";
import * as path from "path";
import { hasCommand } from "../support/requirements";
import { KubernetesApi, kubernetesApi } from "./kubernetesApi";

/** Where build-tools.sh and images/build-images.sh put what the real-node cluster runs. */
export const toolsBin = childProcess
    .spawnSync(path.join(__dirname, "build-tools.sh"), ["--print-bin"], { encoding: "utf8" })
    .stdout.trim();
export const imagesDir = childProcess
    .spawnSync(path.join(__dirname, "images", "build-images.sh"), ["--print-dir"], { encoding: "utf8" })
    .stdout.trim();

const requiredTools = [
    "pulumi",
    "pulumi-language-nodejs",
    "pulumi-resource-command",
    "pulumi-resource-random",
    "pulumi-resource-kubernetes",
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "kube-proxy",
    "kubectl",
    "traefik",
    "local-path-provisioner",
];
const requiredImages = ["pause", "registry-2", "registry-3", "busybox", "e2e-hello", "kubectl", "seaweedfs", "redis"];
const requiredCommands = [
    "unshare",
    "nsenter",
    "setsid",
    "docker-registry",
    "skopeo",
    "htpasswd",
    "openssl",
    "curl",
    "socat",
    "ctr",
    "runc",
    "iptables-save",
    "ip",
    "/usr/sbin/dockerd",
    "/usr/bin/docker",
];

/** Why the real-node tests cannot run here, or undefined when they can. */
export function whyNotRunnable(): string | undefined {
    if (process.getuid?.() !== 0) {
        return "needs root (containerd, kubelet, iptables, mount namespaces, ports 80/443)";
    }
    const tools = requiredTools.filter(t => !fs.existsSync(path.join(toolsBin, t)));
    if (tools.length) {
        return `tools not built (run tests/engine/build-tools.sh): ${tools.join(", ")}`;
    }
    const images = requiredImages.filter(i => !fs.existsSync(path.join(imagesDir, `${i}.tar`)));
    if (images.length) {
        return `images not built (run tests/engine/images/build-images.sh): ${images.join(", ")}`;
    }
    const commands = requiredCommands.filter(c => !(c.startsWith("/") ? fs.existsSync(c) : hasCommand(c)));
    return commands.length ? `missing commands: ${commands.join(", ")}` : undefined;
}

/** The reference of a locally built image (images/build-images.sh), e.g. "localhost/distribution/registry:2.8.2". */
export function imageReference(name: string): string {
    return fs.readFileSync(path.join(imagesDir, `${name}.reference`), "utf8").trim();
}

export function run(command: string, args: string[], options: childProcess.SpawnSyncOptions = {}): string {
    // A stack's exported state is more than spawnSync's default 1 MB.
    const r = childProcess.spawnSync(command, args, { encoding: "utf8", maxBuffer: 256 * 1024 * 1024, ...options });
    if (r.status !== 0) {
        throw new Error(`${command} ${args.join(" ")} failed (${r.status}): ${r.stderr}${r.stdout}`);
    }
    return String(r.stdout);
}

/** Polls `check` until it returns a value other than undefined, or fails after `seconds` naming `what`. */
export async function waitFor<T>(what: string, seconds: number, check: () => Promise<T | undefined>): Promise<T> {
    const deadline = Date.now() + seconds * 1000;
    let last: unknown;
    for (;;) {
        try {
            const value = await check();
            if (value !== undefined) {
                return value;
            }
        } catch (e) {
            last = e;
        }
        if (Date.now() > deadline) {
            throw new Error(`timed out after ${seconds} s waiting for ${what}${last ? `: ${last}` : ""}`);
        }
        await new Promise(r => setTimeout(r, 250));
    }
}

/** The single-node cluster of start-cluster.sh: control plane, kubelet + containerd, kube-proxy, Traefik, local-path. */
export interface RealNodeCluster {
    dir: string;
    kubeconfig: string;
    api: KubernetesApi;
    /** containerd's socket, for `ctr -a`. */
    containerdSocket: string;
    /** The node's /etc/hosts (the kubelet's and containerd's, and a pod's hostPath /etc/hosts): a file bind-mounted there. */
    nodeHosts: string;
    /** containerd's config_path on the node (node trust's certs directory there). */
    nodeCertsDir: string;
    stop(): void;
}

export function startRealNodeCluster(dir: string): RealNodeCluster {
    const script = path.join(__dirname, "start-cluster.sh");
    try {
        run(script, ["start", dir], { stdio: "inherit" });
    } catch (e) {
        childProcess.spawnSync(script, ["stop", dir], { stdio: "inherit" });
        throw e;
    }
    const kubeconfig = path.join(dir, "kubeconfig");
    return {
        dir,
        kubeconfig,
        api: kubernetesApi(kubeconfig),
        containerdSocket: path.join(dir, "containerd", "containerd.sock"),
        nodeHosts: path.join(dir, "node-hosts"),
        nodeCertsDir: path.join(dir, "containerd", "certs.d"),
        stop() {
            childProcess.spawnSync(script, ["stop", dir], { stdio: "inherit" });
        },
    };
}

/**
 * What the real-node cluster and the Docker engine change on the machine, in a form that compares equal when
 * they have put it back: iptables and ip6tables rules and chains (not counters, nor empty tables that nft
 * keeps), routes, links, the sysctls they touch, the mount table, netns files and kubelet cgroups.
 */
export function machineState(): Record<string, string> {
    const rules = (save: string) =>
        run(save, [])
            .split("\n")
            .filter(l => /^(-A|-N|:)/.test(l) && !/^:(INPUT|OUTPUT|FORWARD|PREROUTING|POSTROUTING) ACCEPT/.test(l))
            .map(l => l.replace(/ \[\d+:\d+\]$/, ""))
            .sort()
            .join("\n");
    const read = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, "utf8").trim() : "(absent)");
    return {
        iptables: rules("iptables-save"),
        ip6tables: rules("ip6tables-save"),
        routes: run("ip", ["route"]).trim(),
        links: run("ip", ["-o", "link"])
            .split("\n")
            .map(l => l.split(":")[1]?.trim())
            .filter(Boolean)
            .sort()
            .join(" "),
        sysctls: [
            "net/ipv4/ip_forward",
            "vm/overcommit_memory",
            "vm/panic_on_oom",
            "kernel/panic",
            "kernel/panic_on_oops",
            "net/ipv4/conf/all/route_localnet",
        ]
            .map(k => `${k}=${read(`/proc/sys/${k}`)}`)
            .join(" "),
        mounts: fs
            .readFileSync("/proc/self/mountinfo", "utf8")
            .split("\n")
            .map(l => l.split(" ")[4])
            .filter(Boolean)
            .sort()
            .join("\n"),
        netns: fs.existsSync("/var/run/netns") ? fs.readdirSync("/var/run/netns").join(" ") : "(absent)",
        kubepodsCgroups: fs
            .readdirSync("/sys/fs/cgroup")
            .filter(c => fs.existsSync(`/sys/fs/cgroup/${c}/kubepods`))
            .join(" "),
    };
}

/** Every pod a label selector picks, terminating ones too. */
export async function podsOf(api: KubernetesApi, namespace: string, selector: string): Promise<any[]> {
    const pods = (
        await api.request("GET", `/api/v1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent(selector)}`)
    ).body;
    return pods.items ?? [];
}

/** Ready by the kubelet's real probes, and not terminating. */
export function isReady(pod: any): boolean {
    return (
        !pod.metadata.deletionTimestamp &&
        (pod.status.conditions ?? []).some((c: any) => c.type === "Ready" && c.status === "True")
    );
}

/** The Ready pods a label selector picks. */
export async function readyPods(api: KubernetesApi, namespace: string, selector: string): Promise<any[]> {
    return (await podsOf(api, namespace, selector)).filter(isReady);
}

/** A pod of a Deployment that is Ready. */
export async function readyPod(api: KubernetesApi, namespace: string, selector: string): Promise<any | undefined> {
    return (await readyPods(api, namespace, selector))[0];
}
