import * as childProcess from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** Where and as whom a test pushes. */
export interface PushTarget {
    port: number;
    /** A directory with the registry's CA as ca.crt. */
    certDir: string;
    username: string;
    password: string;
}

/**
 * Copies a local image (e.g. `oci:<dir>:<tag>`) to 127.0.0.1:<port>/<reference> with skopeo, the credentials
 * in a temporary auth file, never on the command line.
 */
export function pushImage(target: PushTarget, source: string, reference: string): void {
    withAuthFile(target, authFile =>
        skopeoCopy(
            ["--dest-authfile", authFile, "--dest-cert-dir", target.certDir],
            source,
            `docker://127.0.0.1:${target.port}/${reference}`,
        ),
    );
}

/** Copies 127.0.0.1:<port>/<reference> to a local destination (e.g. `oci:<dir>:<tag>`): a client's pull. */
export function pullImage(target: PushTarget, reference: string, destination: string): void {
    withAuthFile(target, authFile =>
        skopeoCopy(
            ["--src-authfile", authFile, "--src-cert-dir", target.certDir],
            `docker://127.0.0.1:${target.port}/${reference}`,
            destination,
        ),
    );
}

function withAuthFile(target: PushTarget, use: (authFile: string) => void): void {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dr-push-auth-"));
    try {
        const authFile = path.join(dir, "auth.json");
        const auth = Buffer.from(`${target.username}:${target.password}`).toString("base64");
        fs.writeFileSync(authFile, JSON.stringify({ auths: { [`127.0.0.1:${target.port}`]: { auth } } }), {
            mode: 0o600,
        });
        use(authFile);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

function skopeoCopy(authArgs: string[], source: string, destination: string): void {
    const r = childProcess.spawnSync("skopeo", ["--insecure-policy", "copy", ...authArgs, source, destination], {
        encoding: "utf8",
    });
    if (r.status !== 0) {
        throw new Error(`skopeo copy ${source} ${destination} failed: ${r.stderr}`);
    }
}
