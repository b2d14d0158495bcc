import * as crypto from "crypto";
import * as http from "http";
import * as https from "https";

/*
 * Images written and read through a registry's HTTP API, byte for byte: a push of given layers (blob uploads, then
 * the manifest), a delete by digest, and a pull that checks every blob against its digest. What garbage collection
 * must keep whole and what it may free are told apart by these.
 */

export interface ApiTarget {
    /** http://host:port or https://host[:port] of the registry. */
    url: string;
    username: string;
    password: string;
    /** Connect to this address instead of the URL's host (an ingress for the registry's name); the Host stays. */
    connectTo?: string;
    /** For https: verify against this CA (PEM); without it the certificate is not verified. */
    ca?: string;
}

export interface PushedImage {
    manifestDigest: string;
    /** The config and layer blobs, with their sizes. */
    blobs: { digest: string; size: number }[];
}

const manifestType = "application/vnd.oci.image.manifest.v1+json";
/** The Accept header of a manifest GET: the OCI manifest the pushes make, or Docker's v2 schema 2. */
export const manifestTypes = `${manifestType}, application/vnd.docker.distribution.manifest.v2+json`;

function authorization(t: ApiTarget): string {
    return `Basic ${Buffer.from(`${t.username}:${t.password}`).toString("base64")}`;
}

function digestOf(data: Buffer): string {
    return `sha256:${crypto.createHash("sha256").update(data).digest("hex")}`;
}

function request(
    t: ApiTarget,
    method: string,
    path: string,
    body?: Buffer,
    headers: Record<string, string> = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
    const url = new URL(path, t.url);
    const secure = url.protocol === "https:";
    const options: https.RequestOptions = {
        method,
        host: t.connectTo ?? url.hostname,
        port: url.port || (secure ? 443 : 80),
        path: `${url.pathname}${url.search}`,
        agent: false,
        headers: {
            Host: url.host,
            Authorization: authorization(t),
            ...(body ? { "Content-Length": String(body.length) } : {}),
            ...headers,
        },
        ...(secure
            ? {
                  servername: url.hostname,
                  ...(t.ca ? { ca: t.ca, rejectUnauthorized: true } : { rejectUnauthorized: false }),
              }
            : {}),
    };
    return new Promise((resolve, reject) => {
        const req = (secure ? https : http).request(options, res => {
            const chunks: Buffer[] = [];
            res.on("data", c => chunks.push(c));
            res.on("end", () =>
                resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
            );
            res.on("error", reject);
        });
        req.on("error", reject);
        req.setTimeout(60000, () => req.destroy(new Error(`${method} ${path}: no answer in 60 s`)));
        req.end(body);
    });
}

/** Random bytes that compress to nothing: a layer whose size is what it frees. */
export function randomLayer(bytes: number): Buffer {
    return crypto.randomBytes(bytes);
}

async function pushBlob(t: ApiTarget, repository: string, data: Buffer): Promise<{ digest: string; size: number }> {
    const digest = digestOf(data);
    const start = await request(t, "POST", `/v2/${repository}/blobs/uploads/`);
    if (start.status !== 202) {
        throw new Error(`POST blob upload: ${start.status} ${start.body}`);
    }
    const location = new URL(String(start.headers.location), t.url);
    location.searchParams.set("digest", digest);
    const put = await request(t, "PUT", `${location.pathname}${location.search}`, data, {
        "Content-Type": "application/octet-stream",
    });
    if (put.status !== 201) {
        throw new Error(`PUT blob ${digest}: ${put.status} ${put.body}`);
    }
    return { digest, size: data.length };
}

/** Pushes an image of these layers (and a config naming them) as repository:tag. */
export async function pushImage(t: ApiTarget, repository: string, tag: string, layers: Buffer[]): Promise<PushedImage> {
    const pushedLayers = [];
    for (const layer of layers) {
        pushedLayers.push(await pushBlob(t, repository, layer));
    }
    const config = await pushBlob(
        t,
        repository,
        Buffer.from(
            JSON.stringify({
                architecture: "amd64",
                os: "linux",
                rootfs: { type: "layers", diff_ids: pushedLayers.map(l => l.digest) },
            }),
        ),
    );
    const manifest = Buffer.from(
        JSON.stringify({
            schemaVersion: 2,
            mediaType: manifestType,
            config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
            layers: pushedLayers.map(l => ({ mediaType: "application/vnd.oci.image.layer.v1.tar", ...l })),
        }),
    );
    const put = await request(t, "PUT", `/v2/${repository}/manifests/${tag}`, manifest, {
        "Content-Type": manifestType,
    });
    if (put.status !== 201) {
        throw new Error(`PUT manifest ${repository}:${tag}: ${put.status} ${put.body}`);
    }
    return { manifestDigest: digestOf(manifest), blobs: [config, ...pushedLayers] };
}

/** Deletes a manifest by digest, as the seed does: 202. */
export async function deleteManifest(t: ApiTarget, repository: string, digest: string): Promise<number> {
    return (await request(t, "DELETE", `/v2/${repository}/manifests/${digest}`)).status;
}

/**
 * Pulls repository:tag and checks every blob the manifest names: served, of its size, and hashing to its digest.
 * Returns what was wrong, one line each (empty: the image is whole).
 */
export async function pullProblems(t: ApiTarget, repository: string, tag: string): Promise<string[]> {
    const manifest = await request(t, "GET", `/v2/${repository}/manifests/${tag}`, undefined, { Accept: manifestType });
    if (manifest.status !== 200) {
        return [`manifest ${repository}:${tag}: ${manifest.status}`];
    }
    const parsed = JSON.parse(manifest.body.toString());
    const problems: string[] = [];
    for (const blob of [parsed.config, ...parsed.layers]) {
        const got = await request(t, "GET", `/v2/${repository}/blobs/${blob.digest}`);
        if (got.status !== 200) {
            problems.push(`${blob.digest}: ${got.status}`);
        } else if (got.body.length !== blob.size || digestOf(got.body) !== blob.digest) {
            problems.push(`${blob.digest}: ${got.body.length} bytes hashing to ${digestOf(got.body)}`);
        }
    }
    return problems;
}

/** The blobs repository:tag's manifest names (config and layers), and the manifest's own digest. */
export async function blobsOf(t: ApiTarget, repository: string, tag: string): Promise<{ digest: string }[]> {
    const manifest = await request(t, "GET", `/v2/${repository}/manifests/${tag}`, undefined, {
        Accept: manifestTypes,
    });
    if (manifest.status !== 200) {
        throw new Error(`manifest ${repository}:${tag}: ${manifest.status}`);
    }
    const parsed = JSON.parse(manifest.body.toString());
    return [{ digest: digestOf(manifest.body) }, parsed.config, ...parsed.layers].map(b => ({ digest: b.digest }));
}

/** The status a blob upload start gets: 202 when the registry takes writes, 405 when it is read-only. */
export async function uploadStatus(t: ApiTarget, repository: string): Promise<number> {
    return (await request(t, "POST", `/v2/${repository}/blobs/uploads/`)).status;
}
