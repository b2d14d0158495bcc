import * as childProcess from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { S3Credentials, S3Request, S3Response, listKeys, s3Request } from "./s3Api";

/** SeaweedFS's `weed`, built by `tests/engine/build-tools.sh seaweedfs` into the tools cache. */
export const weedBinary = path.join(
    process.env.DR_TOOLS_DIR ?? path.join(os.homedir(), ".cache", "distribution-registry-tools"),
    "bin",
    "weed",
);
export const haveWeed = fs.existsSync(weedBinary);
export const whyNoWeed = `needs SeaweedFS's weed (${weedBinary}): run tests/engine/build-tools.sh seaweedfs`;

export interface S3ServerOptions {
    /** Bucket made through the S3 API before the server is handed out. Default: "registry". */
    bucket?: string;
    /** Region the credentials sign for. Default: us-east-1. */
    region?: string;
}

export interface RunningS3Server extends S3Credentials {
    /** The S3 API port on 127.0.0.1. */
    port: number;
    bucket: string;
    /** Temporary directory: data, config, logs. */
    dir: string;
    /** The weed process. */
    pid: number;
    /** The gRPC Unix sockets weed makes in /tmp (whatever TMPDIR says); stop removes any a kill left. */
    sockets: string[];
    /** Output of the weed process so far. */
    log(): string;
    /** A request signed with the server's credentials. */
    request(request: S3Request): Promise<S3Response>;
    /** Keys in the bucket under a prefix. */
    keys(prefix: string): Promise<string[]>;
    stop(): Promise<void>;
}

/**
 * Ports free on 127.0.0.1, unique, below Linux's ephemeral range (32768 up): `weed mini` opens ten listeners
 * one after another while it already dials its own services, and an outgoing connection's source port must not
 * take one of them in between (mini warns about this for its admin port).
 */
async function freeLowPorts(count: number): Promise<number[]> {
    const ports = new Set<number>();
    while (ports.size < count) {
        const port = 20000 + crypto.randomInt(12000);
        if (!ports.has(port) && (await canListen(port))) {
            ports.add(port);
        }
    }
    return [...ports];
}

function canListen(port: number): Promise<boolean> {
    return new Promise(resolve => {
        const server = net.createServer();
        server.once("error", () => resolve(false));
        server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
    });
}

/**
 * Starts SeaweedFS (`weed mini`: master, volume server, filer and S3 gateway in one process) on loopback only,
 * with its data, config and logs in a temporary directory, one S3 identity with random keys (in a 0600 config
 * file, never on the command line), and a bucket made through the S3 API. Resolves once a signed request has
 * listed the new bucket.
 */
export async function startS3Server(options: S3ServerOptions = {}): Promise<RunningS3Server> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dr-s3-"));
    const bucket = options.bucket ?? "registry";
    const region = options.region ?? "us-east-1";
    const accessKey = `DR${crypto.randomBytes(9).toString("hex").toUpperCase()}`;
    const secretKey = crypto.randomBytes(30).toString("base64url");
    const s3Config = path.join(dir, "s3.json");
    // SeaweedFS's static identities file: any identity with credentials turns on SigV4 authentication.
    fs.writeFileSync(
        s3Config,
        JSON.stringify({
            identities: [
                {
                    name: "registry",
                    credentials: [{ accessKey, secretKey }],
                    actions: ["Admin", "Read", "Write", "List", "Tagging"],
                },
            ],
        }),
        { mode: 0o600 },
    );
    for (const sub of ["data", "logs", "tmp"]) {
        fs.mkdirSync(path.join(dir, sub));
    }
    const [master, masterGrpc, volume, volumeGrpc, filer, filerGrpc, s3, s3Grpc, admin, adminGrpc] =
        await freeLowPorts(10);
    const args = [
        `-logdir=${path.join(dir, "logs")}`, // glog writes its files to the system's temporary directory otherwise
        "mini",
        `-dir=${path.join(dir, "data")}`,
        // -ip is what the services advertise to each other; -ip.bind is where every listener binds (0.0.0.0 by
        // default). Explicit ports: mini moves a default port that is taken, but fails on an explicit one.
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        `-master.port=${master}`,
        `-master.port.grpc=${masterGrpc}`,
        `-volume.port=${volume}`,
        `-volume.port.grpc=${volumeGrpc}`,
        `-filer.port=${filer}`,
        `-filer.port.grpc=${filerGrpc}`,
        `-s3.port=${s3}`,
        `-s3.port.grpc=${s3Grpc}`,
        // The admin server (maintenance workers) always runs in mini; its UI and legacy ports need not.
        `-admin.port=${admin}`,
        `-admin.port.grpc=${adminGrpc}`,
        "-admin.port.legacy=0",
        "-admin.ui=false",
        "-webdav=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        // Anonymous statistics go to telemetry.seaweedfs.com by default: test traffic stays on loopback.
        "-master.telemetry=false",
        `-s3.config=${s3Config}`,
        `-filer.localSocket=${path.join(dir, "filer.sock")}`,
        `-s3.localSocket=${path.join(dir, "s3.sock")}`,
    ];
    // A clean environment: no AWS_* credentials of the caller's (weed adds them as an admin identity), no
    // SENTRY_DSN (weed reports errors to Sentry when set), HOME and TMPDIR in the temporary directory (weed reads
    // security.toml and friends from ~/.seaweedfs and the working directory).
    const child = childProcess.spawn(weedBinary, args, {
        cwd: dir,
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir, TMPDIR: path.join(dir, "tmp") },
        stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout!.on("data", d => {
        output += d;
    });
    child.stderr!.on("data", d => {
        output += d;
    });
    const exited = new Promise<void>(resolve => child.once("exit", () => resolve()));
    const sockets = Object.entries({
        master: masterGrpc,
        volume: volumeGrpc,
        filer: filerGrpc,
        s3: s3Grpc,
        admin: adminGrpc,
    }).map(([name, port]) => `/tmp/seaweedfs-${name}-grpc-${port}.sock`);
    const stop = async () => {
        if (child.exitCode === null && child.signalCode === null) {
            child.kill("SIGTERM");
            // weed stops its services in order on SIGTERM (about 2 s); it is killed if it hangs.
            const timer = setTimeout(() => child.kill("SIGKILL"), 20000);
            await exited;
            clearTimeout(timer);
        }
        // A clean stop removes the sockets, a kill does not.
        for (const socket of sockets) {
            fs.rmSync(socket, { force: true });
        }
        fs.rmSync(dir, { recursive: true, force: true });
    };
    const credentials: S3Credentials = { endpoint: `http://127.0.0.1:${s3}`, region, accessKey, secretKey };
    try {
        // Ready when a signed ListBuckets answers 200; weed answers nothing (or 503) while its services start.
        const deadline = Date.now() + 60000;
        for (;;) {
            const res = await s3Request(credentials, { method: "GET", path: "/" }).catch(() => undefined);
            if (res?.status === 200) {
                break;
            }
            if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
                throw new Error(`SeaweedFS did not serve S3 on ${credentials.endpoint}`);
            }
            await new Promise(r => setTimeout(r, 200));
        }
        const made = await s3Request(credentials, { method: "PUT", path: `/${bucket}` });
        if (made.status !== 200) {
            throw new Error(`CreateBucket ${bucket}: ${made.status} ${made.body}`);
        }
        // The bucket is listed once the filer has it: the same condition the registry's first request needs.
        for (;;) {
            const listed = await s3Request(credentials, { method: "GET", path: "/" });
            if (listed.status === 200 && listed.body.toString().includes(`<Name>${bucket}</Name>`)) {
                break;
            }
            if (Date.now() > deadline) {
                throw new Error(`bucket ${bucket} was made but is not listed`);
            }
            await new Promise(r => setTimeout(r, 200));
        }
    } catch (e) {
        const log = output;
        await stop();
        throw new Error(`${(e as Error).message}\n${log}`, { cause: e });
    }
    return {
        ...credentials,
        port: s3,
        bucket,
        dir,
        pid: child.pid!,
        sockets,
        log: () => output,
        request: r => s3Request(credentials, r),
        keys: prefix => listKeys(credentials, bucket, prefix),
        stop,
    };
}
