import * as childProcess from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as os from "os";
import * as path from "path";
import { freePort } from "./ports";
import { SelfSignedCertificate } from "./tls";

/** The Distribution registry binary from Debian's docker-registry package. */
export const registryBinary = "docker-registry";

export interface RegistryProcessOptions {
    /** config.yml text, e.g. renderRegistryConfig()'s. Address, storage and htpasswd path are overridden to local ones. */
    config: string;
    /** htpasswd file content; when absent the config's auth section is removed (no auth). */
    htpasswd?: string;
    /** More environment, e.g. the rendered Deployment's literal env values. */
    env?: Record<string, string>;
    /** Serve TLS with this certificate. */
    tls?: SelfSignedCertificate;
    /** Loopback address to listen on. Default: 127.0.0.1. */
    host?: string;
    /** Port. Default: a free one. */
    port?: number;
    /** The registry program. Default: Debian's docker-registry (2.8); a registry 3.x built from Go modules also serves. */
    binary?: string;
    /** Data directory to reuse (default: a new temporary one). */
    dataDir?: string;
    /**
     * Keep the config's own storage section (e.g. `s3`) instead of pointing a filesystem driver at a local
     * directory: with two drivers configured the registry refuses to start.
     */
    storageFromConfig?: boolean;
}

export interface RunningRegistry {
    port: number;
    /** http(s)://127.0.0.1:<port> */
    url: string;
    dir: string;
    process: childProcess.ChildProcess;
    /** Output of the registry process so far. */
    log(): string;
    stop(): Promise<void>;
}

/** Starts a real registry process on loopback and resolves once `GET /` answers 200. */
export async function startRegistry(options: RegistryProcessOptions): Promise<RunningRegistry> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dr-registry-"));
    const port = options.port ?? (await freePort());
    const configFile = path.join(dir, "config.yml");
    let config = options.config;
    if (options.htpasswd === undefined) {
        const parsed = JSON.parse(config);
        delete parsed.auth;
        config = JSON.stringify(parsed, null, 2);
    }
    // 0600: a config may hold credentials (storage keys, a Redis password).
    fs.writeFileSync(configFile, config, { mode: 0o600 });
    // The environment is built, not inherited: nothing of the machine's reaches the registry. (This machine exports
    // AWS_CA_BUNDLE, with which Debian's 2.8.2 S3 driver panics at start.)
    const env: Record<string, string> = {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        ...options.env,
        REGISTRY_HTTP_ADDR: `${options.host ?? "127.0.0.1"}:${port}`,
        REGISTRY_LOG_LEVEL: "warn",
    };
    if (!options.storageFromConfig) {
        env.REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY = options.dataDir ?? path.join(dir, "data");
    }
    if (options.htpasswd !== undefined) {
        const htpasswdFile = path.join(dir, "htpasswd");
        fs.writeFileSync(htpasswdFile, options.htpasswd);
        env.REGISTRY_AUTH_HTPASSWD_PATH = htpasswdFile;
    }
    if (options.tls) {
        env.REGISTRY_HTTP_TLS_CERTIFICATE = options.tls.certFile;
        env.REGISTRY_HTTP_TLS_KEY = options.tls.keyFile;
    }
    const child = childProcess.spawn(options.binary ?? registryBinary, ["serve", configFile], {
        env,
        stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout!.on("data", d => {
        output += d;
    });
    child.stderr!.on("data", d => {
        output += d;
    });
    const url = `${options.tls ? "https" : "http"}://${options.host ?? "127.0.0.1"}:${port}`;
    // Stops the process and removes its temporary directory (a data directory given by the caller stays).
    const stop = () =>
        new Promise<void>(resolve => {
            const cleanUp = () => {
                fs.rmSync(dir, { recursive: true, force: true });
                resolve();
            };
            if (child.exitCode !== null || child.signalCode !== null) {
                cleanUp();
                return;
            }
            child.once("exit", cleanUp);
            child.kill("SIGTERM");
        });
    const deadline = Date.now() + 15000;
    while (!(await answersRoot(url))) {
        if (child.exitCode !== null || Date.now() > deadline) {
            await stop();
            throw new Error(`registry did not start on ${url}:\n${output}`);
        }
        await new Promise(r => setTimeout(r, 100));
    }
    return { port, url, dir, process: child, log: () => output, stop };
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
