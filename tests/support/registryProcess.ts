import * as childProcess from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as os from "os";
import * as path from "path";
import {
    configDirectories,
    configFileName,
    dataDirectory,
    htpasswdDirectory,
    htpasswdKey,
} from "../../components/registryConfig";
import { freePort } from "./ports";
import { SelfSignedCertificate } from "./tls";

/** The Distribution registry binary from Debian's docker-registry package. */
export const registryBinary = "docker-registry";

/** Where tests/support/build-registry-v3.sh leaves Distribution 3.x. */
export const registryV3Binary = path.join(
    process.env.DR_REGISTRY_V3_DIR ?? path.join(os.homedir(), ".cache", "distribution-registry-v3"),
    "registry",
);

export interface RegistryProcessOptions {
    /** config.yml text, e.g. renderRegistryConfig()'s, as the ConfigMap holds it. */
    config: string;
    /** htpasswd file content, as the Secret holds it; when absent the config's auth section is removed (no auth). */
    htpasswd?: string;
    /** More environment, e.g. the rendered Deployment's env values. */
    env?: Record<string, string>;
    /** Serve TLS with this certificate (in the cluster the Ingress terminates TLS; here the registry does). */
    tls?: SelfSignedCertificate;
    /** Loopback address to listen on. Default: 127.0.0.1. */
    host?: string;
    /** Port. Default: a free one. */
    port?: number;
    /** The registry program. Default: Debian's docker-registry (2.8); registryV3Binary is Distribution 3.x. */
    binary?: string;
    /** Data directory to reuse (default: a new temporary one). */
    dataDir?: string;
    /**
     * The rendered Deployment: the config, htpasswd and data are then mounted where its pod template mounts them
     * (default: where registryConfig.ts says the pod reads them).
     */
    deployment?: any;
}

/**
 * A container's environment as the kubelet gives it: literal values as they are, and each secretKeyRef read from the
 * Secrets given (name -> stringData, as rendered, or a user's Secret). A reference to a Secret or key that is not there
 * throws, as the kubelet refuses to start the container. A fieldRef is left out: there is no pod here to read it from.
 */
export function containerEnvironment(
    container: any,
    secrets: Record<string, Record<string, string>>,
): Record<string, string> {
    const env: Record<string, string> = {};
    for (const e of container.env ?? []) {
        const ref = e.valueFrom?.secretKeyRef;
        if (ref) {
            const value = secrets[ref.name]?.[ref.key];
            if (value === undefined) {
                throw new Error(`${e.name}: secret "${ref.name}" has no key "${ref.key}"`);
            }
            env[e.name] = value;
        } else if (e.value !== undefined) {
            env[e.name] = e.value;
        }
    }
    return env;
}

/** The registry container's environment (containerEnvironment) from a rendered Deployment. */
export function podEnvironment(
    deployment: any,
    secrets: Record<string, Record<string, string>>,
): Record<string, string> {
    return containerEnvironment(deployment.spec.template.spec.containers[0], secrets);
}

/** Where, inside the pod, the config file(s), the htpasswd file and the data directory are. */
export interface PodPaths {
    configFiles: string[];
    htpasswdFile: string;
    dataDirectory: string;
}

/** The paths a rendered Deployment's pod template mounts the ConfigMap, the Secret's htpasswd item and the data at. */
export function podPathsOf(deployment: any): PodPaths {
    const pod = deployment.spec.template.spec;
    const mountsOf = (volume: any) =>
        pod.containers[0].volumeMounts.filter((m: any) => m.name === volume.name).map((m: any) => m.mountPath);
    const config = pod.volumes.find((v: any) => v.configMap);
    const auth = pod.volumes.find((v: any) => v.secret);
    const data = pod.volumes.find((v: any) => v.name === "data");
    return {
        configFiles: mountsOf(config).map((d: string) => `${d}/${configFileName}`),
        htpasswdFile: `${mountsOf(auth)[0]}/${auth.secret.items[0].path}`,
        dataDirectory: mountsOf(data)[0],
    };
}

export interface RunningRegistry {
    port: number;
    /** http(s)://127.0.0.1:<port> */
    url: string;
    /** http://127.0.0.1:<port> of the debug server (metrics), when the config has one. */
    debugUrl?: string;
    dir: string;
    /** The host's directory mounted at the pod's data path (/var/lib/registry). */
    dataDir: string;
    /** The host's file mounted at the pod's htpasswd path (/auth/htpasswd), when there is one. */
    htpasswdFile?: string;
    /** The config file as the registry read it, from inside its root (e.g. /etc/distribution/config.yml). */
    configPath: string;
    process: childProcess.ChildProcess;
    /** Output of the registry process so far. */
    log(): string;
    stop(): Promise<void>;
}

/**
 * Why a registry cannot be started here in the pod's layout, or undefined when it can: it needs root (a mount
 * namespace, an overlay root) and util-linux's unshare.
 */
export function whyNoPodLayout(): string | undefined {
    if (process.getuid?.() !== 0) {
        return "needs root: the registry runs in a private mount namespace with the pod's paths";
    }
    if (childProcess.spawnSync("unshare", ["--mount", "true"]).status !== 0) {
        return "needs unshare --mount (util-linux)";
    }
    return undefined;
}

const majorVersions = new Map<string, number>();

/** The registry's major version, from its own `--version` ("... github.com/distribution/distribution/v3 v3.1.2"). */
export function registryMajorVersion(binary: string): number {
    if (!majorVersions.has(binary)) {
        const r = childProcess.spawnSync(binary, ["--version"], { encoding: "utf8" });
        const m = /\sv?(\d+)\.\d+\.\d+/.exec(r.stdout ?? "");
        if (r.status !== 0 || !m) {
            throw new Error(`cannot tell the version of ${binary}: ${r.stderr}${r.stdout}`);
        }
        majorVersions.set(binary, Number(m[1]));
    }
    return majorVersions.get(binary)!;
}

/*
 * The pod's layout, for real: the registry runs chrooted into an overlay of this machine's root (its writes go to
 * a tmpfs, the machine's files stay as they are), in a private mount namespace where, as the Deployment mounts
 * them, the config file is at /etc/docker/registry/config.yml and /etc/distribution/config.yml (the ConfigMap at
 * both), the htpasswd at /auth/htpasswd (the Secret's item) and the data at /var/lib/registry (the claim). The
 * registry reads the config at the path its image's command gives: /etc/docker/registry/config.yml for 2.x,
 * /etc/distribution/config.yml for 3.x. The only setting not as rendered is the listen address: the config's
 * `:5000` becomes 127.0.0.1:<free port> through the registry's own override, REGISTRY_HTTP_ADDR, so tests run side
 * by side on loopback (and the debug server's, REGISTRY_HTTP_DEBUG_ADDR). TLS, when asked, is given the same way (REGISTRY_HTTP_TLS_*), since the Ingress does it in
 * the cluster. Every mount dies with the namespace when the registry exits.
 */
const podLayoutScript = `
set -eu
m="$1" config="$2" htpasswd="$3" data="$4" binary="$5" tlsdir="$6" binds="$7"
podconfigs="$8" podhtpasswd="$9" poddata="\${10}"
shift 10
mount -t tmpfs -o mode=0755 dr-registry-pod "$m"
mkdir "$m/upper" "$m/work" "$m/root"
mount -t overlay dr-registry-root -o "lowerdir=/,upperdir=$m/upper,workdir=$m/work" "$m/root"
r="$m/root"
for d in /proc /dev /sys; do mount --rbind "$d" "$r$d"; done
for f in $podconfigs; do
  mkdir -p "$r$(dirname "$f")" && : > "$r$f" && mount --bind -o ro "$config" "$r$f"
done
mkdir -p "$r$poddata" && mount --bind "$data" "$r$poddata"
if [ -n "$htpasswd" ]; then
  mkdir -p "$r$(dirname "$podhtpasswd")" && : > "$r$podhtpasswd" && mount --bind -o ro "$htpasswd" "$r$podhtpasswd"
fi
if [ -n "$tlsdir" ]; then mkdir -p "$r/run/dr-test-tls" && mount --bind -o ro "$tlsdir" "$r/run/dr-test-tls"; fi
for b in $binds; do mkdir -p "$r\${b#*=}" && mount --bind "\${b%%=*}" "$r\${b#*=}"; done
: > "$r/bin/registry" && mount --bind "$binary" "$r/bin/registry"
exec chroot "$r" "$@"
`;

/** The files of one registry in the pod's layout: what a process started in it sees at the pod's paths. */
interface PodLayout {
    dir: string;
    binary: string;
    /** The config file as the registry reads it, from inside its root. */
    configPath: string;
    paths: PodPaths;
    configFile: string;
    htpasswdFile?: string;
    dataDir: string;
    mountPoint: string;
}

function preparePodLayout(options: RegistryProcessOptions): PodLayout {
    const why = whyNoPodLayout();
    if (why) {
        throw new Error(`cannot start the registry in the pod's layout: ${why}`);
    }
    const binaryName = options.binary ?? registryBinary;
    const binary = binaryName.includes("/") ? binaryName : whichOrThrow(binaryName);
    // As the images start it: registry:2 reads /etc/docker/registry/config.yml, registry:3 /etc/distribution/config.yml.
    const configPath = `${registryMajorVersion(binary) >= 3 ? "/etc/distribution" : "/etc/docker/registry"}/${configFileName}`;
    const paths: PodPaths = options.deployment
        ? podPathsOf(options.deployment)
        : {
              configFiles: configDirectories.map(d => `${d}/${configFileName}`),
              htpasswdFile: `${htpasswdDirectory}/${htpasswdKey}`,
              dataDirectory,
          };
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dr-registry-"));
    const configFile = path.join(dir, configFileName);
    let config = options.config;
    if (options.htpasswd === undefined) {
        const parsed = JSON.parse(config);
        delete parsed.auth;
        config = JSON.stringify(parsed, null, 2);
    }
    // 0600: a config may hold credentials (storage keys, a Redis password).
    fs.writeFileSync(configFile, config, { mode: 0o600 });
    let htpasswdFile: string | undefined;
    if (options.htpasswd !== undefined) {
        htpasswdFile = path.join(dir, htpasswdKey);
        fs.writeFileSync(htpasswdFile, options.htpasswd);
    }
    const dataDir = options.dataDir ?? path.join(dir, "data");
    fs.mkdirSync(dataDir, { recursive: true });
    const mountPoint = path.join(dir, "pod");
    fs.mkdirSync(mountPoint);
    return { dir, binary, configPath, paths, configFile, htpasswdFile, dataDir, mountPoint };
}

/** The arguments of podLayoutScript, then the command it runs inside the pod's root. */
function podLayoutArguments(layout: PodLayout, tlsDir: string, binds: Record<string, string>, command: string[]) {
    return [
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        podLayoutScript,
        "sh",
        layout.mountPoint,
        layout.configFile,
        layout.htpasswdFile ?? "",
        layout.dataDir,
        layout.binary,
        tlsDir,
        Object.entries(binds)
            .map(([host, pod]) => `${host}=${pod}`)
            .join(" "),
        layout.paths.configFiles.join(" "),
        layout.paths.htpasswdFile,
        layout.paths.dataDirectory,
        ...command,
    ];
}

/**
 * Runs a command inside the pod's layout of a registry (the same config, htpasswd and data at the pod's paths), with
 * more host directories bound in (`binds`: host path to pod path), and returns when it exits: as a Job's container
 * that mounts the registry's volumes runs.
 */
export function runInPodLayout(
    options: RegistryProcessOptions & { binds?: Record<string, string>; timeoutMs?: number },
    command: string[],
): childProcess.SpawnSyncReturns<string> {
    const layout = preparePodLayout(options);
    try {
        return childProcess.spawnSync("unshare", podLayoutArguments(layout, "", options.binds ?? {}, command), {
            env: { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", ...options.env },
            encoding: "utf8",
            timeout: options.timeoutMs ?? 120000,
        });
    } finally {
        fs.rmSync(layout.dir, { recursive: true, force: true });
    }
}

/** Starts a real registry process on loopback, in the pod's layout, and resolves once `GET /` answers 200. */
export async function startRegistry(options: RegistryProcessOptions): Promise<RunningRegistry> {
    const layout = preparePodLayout(options);
    const { dir, configPath, htpasswdFile, dataDir } = layout;
    const port = options.port ?? (await freePort());
    let tlsDir = "";
    // The environment is built, not inherited: nothing of the machine's reaches the registry. (This machine exports
    // AWS_CA_BUNDLE, with which Debian's 2.8.2 S3 driver panics at start.)
    const env: Record<string, string> = {
        PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        ...options.env,
        REGISTRY_HTTP_ADDR: `${options.host ?? "127.0.0.1"}:${port}`,
    };
    // The debug server's listen address too (http.debug.addr, the metrics port): a free loopback port of its own.
    let debugUrl: string | undefined;
    if (JSON.parse(options.config).http?.debug?.addr) {
        const debugPort = await freePort();
        env.REGISTRY_HTTP_DEBUG_ADDR = `127.0.0.1:${debugPort}`;
        debugUrl = `http://127.0.0.1:${debugPort}`;
    }
    if (options.tls) {
        tlsDir = path.join(dir, "tls");
        fs.mkdirSync(tlsDir);
        fs.copyFileSync(options.tls.certFile, path.join(tlsDir, "tls.crt"));
        fs.copyFileSync(options.tls.keyFile, path.join(tlsDir, "tls.key"));
        env.REGISTRY_HTTP_TLS_CERTIFICATE = "/run/dr-test-tls/tls.crt";
        env.REGISTRY_HTTP_TLS_KEY = "/run/dr-test-tls/tls.key";
    }
    const child = childProcess.spawn(
        "unshare",
        podLayoutArguments(layout, tlsDir, {}, ["/bin/registry", "serve", configPath]),
        { env, stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    child.stdout!.on("data", d => {
        output += d;
    });
    child.stderr!.on("data", d => {
        output += d;
    });
    const exited = new Promise<void>(resolve => child.once("exit", () => resolve()));
    const url = `${options.tls ? "https" : "http"}://${options.host ?? "127.0.0.1"}:${port}`;
    // Stops the process (its mounts go with its namespace) and removes its temporary directory (a data directory
    // given by the caller stays).
    const stop = async () => {
        if (child.exitCode === null && child.signalCode === null) {
            child.kill("SIGTERM");
        }
        await exited;
        fs.rmSync(dir, { recursive: true, force: true });
    };
    const deadline = Date.now() + 15000;
    while (!(await answersRoot(url))) {
        if (child.exitCode !== null || Date.now() > deadline) {
            await stop();
            throw new Error(`registry did not start on ${url}:\n${output}`);
        }
        await new Promise(r => setTimeout(r, 100));
    }
    return { port, url, debugUrl, dir, dataDir, htpasswdFile, configPath, process: child, log: () => output, stop };
}

function whichOrThrow(name: string): string {
    const r = childProcess.spawnSync("sh", ["-c", 'command -v "$1"', "sh", name], { encoding: "utf8" });
    if (r.status !== 0) {
        throw new Error(`${name} is not installed`);
    }
    return r.stdout.trim();
}

function answersRoot(url: string): Promise<boolean> {
    return new Promise(resolve => {
        const client = url.startsWith("https") ? https : http;
        const req = client.get(`${url}/`, { rejectUnauthorized: false, timeout: 1000 }, res => {
            res.resume();
            resolve(res.statusCode === 200);
        });
        req.on("error", () => resolve(false));
        req.on("timeout", () => {
            req.destroy();
            resolve(false);
        });
    });
}
