import * as bcrypt from "bcryptjs";
import { htpasswdDirectory, htpasswdKey } from "../../components/registryConfig";
import * as crypto from "crypto";
import * as fs from "fs";
import * as https from "https";
import * as os from "os";
import * as path from "path";
import { makeOciImage } from "../support/ociImage";
import { RunningRedis, haveRedis, startRedis, whyNoRedis } from "../support/redisServer";
import { RunningRegistry, startRegistry } from "../support/registryProcess";
import { hasCommand, itWhen } from "../support/requirements";
import { RunningS3Server, haveWeed, startS3Server, whyNoWeed } from "../support/s3Server";
import { PushTarget, pullImage, pushImage } from "../support/skopeoPush";
import { SelfSignedCertificate, makeSelfSignedCertificate } from "../support/tls";

/*
 * Both major versions of the registry serving from a real S3 server (SeaweedFS on loopback), with Redis as the
 * blob-descriptor cache, and two instances sharing storage, http.secret and Redis. The configs are written by hand
 * here, in the shapes verified against each version's configuration struct; the component will render them.
 */

const registryV3 = path.join(
    process.env.DR_REGISTRY_V3_DIR ?? path.join(os.homedir(), ".cache", "distribution-registry-v3"),
    "registry",
);
const haveTools = haveWeed && hasCommand("skopeo") && hasCommand("openssl");
const whyNoTools = haveWeed ? "needs skopeo and openssl" : whyNoWeed;

const registries = [
    {
        label: "registry 2.8 (Debian's docker-registry)",
        major: 2,
        binary: "docker-registry",
        available: haveTools && hasCommand("docker-registry"),
        why: haveTools ? "needs docker-registry (Debian's Distribution 2.8)" : whyNoTools,
    },
    {
        label: "registry 3.1 (built from Go modules)",
        major: 3,
        binary: registryV3,
        available: haveTools && fs.existsSync(registryV3),
        why: haveTools ? "registry 3.x not built: run tests/support/build-registry-v3.sh" : whyNoTools,
    },
];

const username = "ci";
const password = `s3 p@ss:"${crypto.randomBytes(6).toString("hex")}`;
const realm = "registry.test";

/** storage.s3 and its siblings; keys come from the environment (secretEnv), never from the file. */
function s3Storage(major: number, s3: RunningS3Server, rootdirectory: string) {
    return {
        s3: {
            region: s3.region,
            regionendpoint: s3.endpoint,
            bucket: s3.bucket,
            rootdirectory,
            // 3.x addresses the bucket as a host name (bucket.127.0.0.1) unless told otherwise (distribution#4528);
            // 2.8 has no such parameter and always uses path style with a regionendpoint (s3-aws/s3.go:425).
            ...(major >= 3 ? { forcepathstyle: true } : {}),
        },
        // Blobs are served through the registry, not by a redirect to a pre-signed S3 URL.
        redirect: { disable: true },
        delete: { enabled: true },
    };
}

/** The top-level redis block: addr/pool in 2.8, go-redis's UniversalOptions (addrs, poolsize...) inline in 3.x. */
function redisBlock(shapeOf: number, redis: RunningRedis, db: number) {
    return shapeOf >= 3
        ? { addrs: [redis.addr], db, poolsize: 8, dialtimeout: "2s", readtimeout: "2s", writetimeout: "2s" }
        : {
              addr: redis.addr,
              db,
              dialtimeout: "2s",
              readtimeout: "2s",
              writetimeout: "2s",
              pool: { maxidle: 4, maxactive: 16, idletimeout: "300s" },
          };
}

function registryConfig(storage: object, redis?: object, more: object = {}): string {
    return JSON.stringify({
        version: 0.1,
        http: { addr: ":5000" },
        // Where the pod's Secret volume puts it, as registryProcess mounts it.
        auth: { htpasswd: { realm, path: `${htpasswdDirectory}/${htpasswdKey}` } },
        storage,
        ...(redis ? { redis } : {}),
        ...more,
    });
}

/** Secrets by environment, as a pod gets them from a Secret. */
function secretEnv(s3: RunningS3Server, httpSecret: string, redis?: RunningRedis): Record<string, string> {
    return {
        REGISTRY_STORAGE_S3_ACCESSKEY: s3.accessKey,
        REGISTRY_STORAGE_S3_SECRETKEY: s3.secretKey,
        REGISTRY_HTTP_SECRET: httpSecret,
        ...(redis ? { REGISTRY_REDIS_PASSWORD: redis.password } : {}),
        OTEL_TRACES_EXPORTER: "none",
    };
}

interface Reply {
    status: number;
    headers: Record<string, string | string[] | undefined>;
    body: Buffer;
}

function call(
    tls: SelfSignedCertificate,
    url: string,
    method = "GET",
    headers: Record<string, string> = {},
    body?: Buffer,
): Promise<Reply> {
    return new Promise((resolve, reject) => {
        const req = https.request(url, { method, ca: tls.certPem, auth: `${username}:${password}`, headers }, res => {
            const chunks: Buffer[] = [];
            res.on("data", d => chunks.push(d));
            res.on("end", () =>
                resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
            );
        });
        req.on("error", reject);
        req.end(body);
    });
}

const sha256 = (b: Buffer) => `sha256:${crypto.createHash("sha256").update(b).digest("hex")}`;

const manifestTypes =
    "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

/**
 * The manifest the registry serves for a tag, then every blob it names fetched back, each checked against its
 * digest and size. Returns the digests, config first.
 */
async function verifyPulled(
    tls: SelfSignedCertificate,
    registry: RunningRegistry,
    repository: string,
    tag: string,
    manifestDigest: string,
): Promise<string[]> {
    const manifest = await call(tls, `${registry.url}/v2/${repository}/manifests/${tag}`, "GET", {
        Accept: manifestTypes,
    });
    expect(manifest.status).toBe(200);
    expect(sha256(manifest.body)).toBe(manifestDigest);
    const parsed = JSON.parse(manifest.body.toString());
    const blobs: { digest: string; size: number }[] = [parsed.config, ...parsed.layers];
    // The config and the one layer of makeOciImage's images.
    expect(blobs).toHaveLength(2);
    for (const blob of blobs) {
        const got = await call(tls, `${registry.url}/v2/${repository}/blobs/${blob.digest}`);
        // 200 with the bytes: redirect.disable keeps the registry from sending a 307 to a pre-signed S3 URL.
        expect(got.status).toBe(200);
        expect(got.body.length).toBe(blob.size);
        expect(sha256(got.body)).toBe(blob.digest);
    }
    return blobs.map(b => b.digest);
}

/** Where the S3 driver keeps a blob's bytes: <rootdirectory>/docker/registry/v2/blobs/sha256/<2>/<hex>/data. */
const blobKey = (root: string, digest: string) => {
    const hex = digest.replace(/^sha256:/, "");
    return `${root.replace(/^\//, "")}/docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`;
};

/** A layer big enough for the S3 driver's multipart upload (chunks of 10 MiB by default in both versions). */
const bigContent = () => crypto.randomBytes(12 << 20).toString("base64");

describe("the registry on S3 storage (SeaweedFS), with Redis as its cache", () => {
    let dir: string;
    let tls: SelfSignedCertificate;
    let s3: RunningS3Server;
    let redis: RunningRedis | undefined;
    let htpasswd: string;
    const started: RunningRegistry[] = [];

    const run = async (options: Parameters<typeof startRegistry>[0]) => {
        const registry = await startRegistry({ ...options, htpasswd, tls });
        started.push(registry);
        return registry;
    };
    const target = (registry: RunningRegistry): PushTarget => ({
        port: registry.port,
        certDir: tls.certDir,
        username,
        password,
    });

    beforeAll(async () => {
        if (!registries.some(r => r.available)) {
            return;
        }
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "dr-s3-storage-"));
        tls = makeSelfSignedCertificate(path.join(dir, "tls"), realm);
        htpasswd = `${username}:${bcrypt.hashSync(password, 5)}\n`;
        s3 = await startS3Server({ bucket: "registry" });
        redis = haveRedis ? await startRedis() : undefined;
    }, 120000);
    afterAll(async () => {
        await Promise.all(started.map(r => r.stop()));
        await s3?.stop();
        await redis?.stop();
        if (dir) {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    describe.each(registries)("$label", ({ major, binary, available, why }) => {
        const root = `/registry-${major}`;
        const whyNoCache = available ? whyNoRedis : why;

        itWhen(available, why)(
            "a skopeo push lands in the bucket under rootdirectory, and a pull back checks every blob's digest",
            async () => {
                const registry = await run({
                    config: registryConfig(s3Storage(major, s3, root)),
                    env: secretEnv(s3, "kept-http-secret"),
                    binary,
                });
                const image = makeOciImage(path.join(dir, `image-${major}`), "v1", bigContent());
                pushImage(target(registry), image.source, "s3/hello:v1");
                const digests = await verifyPulled(tls, registry, "s3/hello", "v1", image.manifestDigest);
                const keys = await s3.keys(`${root.slice(1)}/`);
                expect(digests).toHaveLength(2);
                for (const digest of digests) {
                    expect(keys).toContain(blobKey(root, digest));
                }
                // A client's pull: skopeo checks every digest again on the way into a local OCI layout.
                const pulled = path.join(dir, `pulled-${major}`);
                pullImage(target(registry), "s3/hello:v1", `oci:${pulled}:v1`);
                const index = JSON.parse(fs.readFileSync(path.join(pulled, "index.json"), "utf8"));
                expect(index.manifests[0].digest).toBe(image.manifestDigest);
                // Nothing went to the filesystem: the directory mounted at the pod's data path stays empty.
                expect(fs.readdirSync(registry.dataDir)).toEqual([]);
            },
        );

        itWhen(available && haveRedis, whyNoCache)(
            "with Redis as the blob-descriptor cache, a push fills Redis with its blobs' descriptors and pulls verify",
            async () => {
                const db = major;
                const registry = await run({
                    config: registryConfig(
                        { ...s3Storage(major, s3, root), cache: { blobdescriptor: "redis" } },
                        redisBlock(major, redis!, db),
                    ),
                    env: secretEnv(s3, "kept-http-secret", redis),
                    binary,
                });
                const image = makeOciImage(path.join(dir, `cached-${major}`), "v1", bigContent());
                pushImage(target(registry), image.source, "s3/cached:v1");
                const digests = await verifyPulled(tls, registry, "s3/cached", "v1", image.manifestDigest);
                expect(digests).toHaveLength(2);
                for (const digest of digests) {
                    // The descriptor hash and the repository's membership set, as both versions name them
                    // (registry/storage/cache/redis/redis.go).
                    expect(await redis!.commandIn(db, "HGET", `blobs::${digest}`, "digest")).toBe(digest);
                    expect(await redis!.commandIn(db, "SISMEMBER", "repository::s3/cached::blobs", digest)).toBe(1);
                }
            },
        );

        itWhen(available && haveRedis, whyNoCache)(
            "the other major version's redis block leaves Redis unconfigured, and the registry refuses to start",
            async () => {
                await expect(
                    run({
                        config: registryConfig(
                            { ...s3Storage(major, s3, root), cache: { blobdescriptor: "redis" } },
                            redisBlock(major >= 3 ? 2 : 3, redis!, major),
                        ),
                        env: secretEnv(s3, "kept-http-secret", redis),
                        binary,
                    }),
                ).rejects.toThrow(/redis configuration required/);
            },
        );

        itWhen(available, why)(
            "with health.storagedriver on, every request answers 503 once the S3 server is gone (the probes' path too)",
            async () => {
                const own = await startS3Server({ bucket: "health" });
                try {
                    const registry = await run({
                        config: registryConfig(s3Storage(major, own, root), undefined, {
                            health: { storagedriver: { enabled: true, interval: "1s", threshold: 1 } },
                        }),
                        env: secretEnv(own, "kept-http-secret"),
                        binary,
                    });
                    expect((await call(tls, `${registry.url}/v2/`)).status).toBe(200);
                    await own.stop();
                    const deadline = Date.now() + 30000;
                    let status = 0;
                    while ((status = (await call(tls, `${registry.url}/`)).status) !== 503 && Date.now() < deadline) {
                        await new Promise(r => setTimeout(r, 200));
                    }
                    expect(status).toBe(503);
                    expect((await call(tls, `${registry.url}/v2/`)).status).toBe(503);
                } finally {
                    await own.stop();
                }
            },
        );

        itWhen(available && haveRedis, whyNoCache)(
            "two instances on the same S3, http.secret and Redis: a chunked upload alternating between them " +
                "completes and verifies from both; an instance with another secret refuses the upload's state",
            async () => {
                const config = registryConfig(
                    { ...s3Storage(major, s3, root), cache: { blobdescriptor: "redis" } },
                    redisBlock(major, redis!, major),
                );
                const [a, b, stranger] = await Promise.all([
                    run({ config, env: secretEnv(s3, "shared-http-secret", redis), binary }),
                    run({ config, env: secretEnv(s3, "shared-http-secret", redis), binary }),
                    run({ config, env: secretEnv(s3, "another-http-secret", redis), binary }),
                ]);
                const repository = "s3/chunked";
                // Chunks below and above the S3 driver's 5 MiB part minimum, so that parts are carried across requests.
                const chunks = [6 << 20, 1 << 20, 3 << 20, (5 << 20) + 1, 2 << 20].map(n => crypto.randomBytes(n));
                const blob = Buffer.concat(chunks);
                const digest = sha256(blob);

                const started = await call(tls, `${a.url}/v2/${repository}/blobs/uploads/`, "POST", {
                    "Content-Length": "0",
                });
                expect(started.status).toBe(202);
                // The Location carries the upload's state (_state, signed with http.secret); another instance is
                // addressed by swapping the origin.
                let location = new URL(String(started.headers.location), a.url);
                const at = (r: RunningRegistry) => `${r.url}${location.pathname}${location.search}`;

                const refused = await call(
                    tls,
                    at(stranger),
                    "PATCH",
                    { "Content-Type": "application/octet-stream", "Content-Range": `0-${chunks[0].length - 1}` },
                    chunks[0],
                );
                // Both versions: 404 BLOB_UPLOAD_INVALID (3.x adds "invalid secret"): distribution#2225's symptom.
                expect(refused.status).toBe(404);
                expect(JSON.parse(refused.body.toString()).errors[0].code).toBe("BLOB_UPLOAD_INVALID");

                let offset = 0;
                expect(chunks).toHaveLength(5);
                for (let i = 0; i < chunks.length; i++) {
                    const chunk = chunks[i];
                    const via = i % 2 === 0 ? b : a;
                    const patched = await call(
                        tls,
                        at(via),
                        "PATCH",
                        {
                            "Content-Type": "application/octet-stream",
                            "Content-Range": `${offset}-${offset + chunk.length - 1}`,
                        },
                        chunk,
                    );
                    expect(patched.status).toBe(202);
                    offset += chunk.length;
                    expect(patched.headers.range).toBe(`0-${offset - 1}`);
                    location = new URL(String(patched.headers.location), via.url);
                }
                const via = chunks.length % 2 === 0 ? b : a;
                location.searchParams.set("digest", digest);
                const done = await call(tls, at(via), "PUT", { "Content-Length": "0" });
                expect(done.status).toBe(201);
                expect(done.headers["docker-content-digest"]).toBe(digest);

                for (const r of [a, b]) {
                    const got = await call(tls, `${r.url}/v2/${repository}/blobs/${digest}`);
                    expect(got.status).toBe(200);
                    expect(got.body.length).toBe(blob.length);
                    expect(sha256(got.body)).toBe(digest);
                }
                expect(await s3.keys(blobKey(root, digest))).toEqual([blobKey(root, digest)]);
            },
        );
    });
});
