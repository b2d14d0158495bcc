import * as bcrypt from "bcryptjs";
import * as crypto from "crypto";
import * as fs from "fs";
import * as https from "https";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { renderRegistryConfig } from "../../components/registryConfig";
import { PlainSettingsArgs, secretInputEntries, settingsFromArgs } from "../../components/settings";
import { renderDeployment } from "../../components/templates/deployment";
import { podChecksum } from "../../components/templates/registryPod";
import { renderSecret } from "../../components/templates/secret";
import { makeOciImage } from "../support/ociImage";
import { manifestTypes } from "../support/registryImages";
import { RunningRedis, haveRedis, startRedis, whyNoRedis } from "../support/redisServer";
import { RunningRegistry, podEnvironment, startRegistry } from "../support/registryProcess";
import { hasCommand, itWhen } from "../support/requirements";
import { RunningS3Server, haveWeed, startS3Server, whyNoWeed } from "../support/s3Server";
import { PushTarget, pullImage, pushImage } from "../support/skopeoPush";
import { SelfSignedCertificate, makeSelfSignedCertificate } from "../support/tls";

/*
 * Both major versions of the registry serving from a real S3 server (SeaweedFS on loopback), with Redis as the
 * blob-descriptor cache, and two instances sharing storage, http.secret and Redis: each runs the config, Secret and
 * environment the component renders for storage type "s3" (renderRegistryConfig, renderSecret, the Deployment's env
 * read through its secretKeyRefs), in the pod's file layout. Only the listen addresses differ (registryProcess.ts).
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
        // The image the e2e runs it as: its tag tells the component the major version.
        image: "localhost/distribution/registry:2.8.2",
        binary: "docker-registry",
        available: haveTools && hasCommand("docker-registry"),
        why: haveTools ? "needs docker-registry (Debian's Distribution 2.8)" : whyNoTools,
    },
    {
        label: "registry 3.1 (built from Go modules)",
        major: 3,
        image: "localhost/distribution/registry:3.1.2",
        binary: registryV3,
        available: haveTools && fs.existsSync(registryV3),
        why: haveTools ? "registry 3.x not built: run tests/support/build-registry-v3.sh" : whyNoTools,
    },
];

const username = "ci";
const password = `s3 p@ss:"${crypto.randomBytes(6).toString("hex")}`;
const realm = "registry.test";

interface PodOptions {
    image: string;
    s3: RunningS3Server;
    rootDirectory: string;
    httpSecret: string;
    /** The Redis, and how the registry gets its password: as an input (default) or from the user's Secret. */
    redis?: RunningRedis;
    db?: number;
    /** The keys as inputs (into the registry's Secret), or in the user's Secret "s3-keys". Default: inputs. */
    keysFrom?: "inputs" | "userSecret";
    /** More arguments (imageMajorVersion, metrics...). */
    more?: PlainSettingsArgs;
}

/**
 * What the component renders for these inputs, as the registry process takes it: the ConfigMap's config.yml, the
 * Deployment (for the pod's mounts) and the container's environment, its secretKeyRefs read from the registry's
 * Secret or the user's, as the kubelet reads them.
 */
function renderPod(o: PodOptions, htpasswd: string) {
    const userSecrets: Record<string, Record<string, string>> = {};
    const keysFrom = o.keysFrom ?? "inputs";
    if (keysFrom === "userSecret") {
        // As a user would write them: the raw values (SeaweedFS's keys are letters, digits, '-' and '_': YAML-safe).
        userSecrets["s3-keys"] = { accessKey: o.s3.accessKey, secretKey: o.s3.secretKey };
        userSecrets["redis-auth"] = { password: o.redis?.password ?? "" };
    }
    const inputs = {
        ...(keysFrom === "inputs" ? { accessKey: o.s3.accessKey, secretKey: o.s3.secretKey } : {}),
    };
    const args: PlainSettingsArgs = {
        image: o.image,
        hostname: realm,
        replicas: 2,
        storage: {
            type: "s3",
            s3: {
                bucket: o.s3.bucket,
                region: o.s3.region,
                regionEndpoint: o.s3.endpoint,
                rootDirectory: o.rootDirectory,
                ...inputs,
                ...(keysFrom === "userSecret" ? { credentialsSecret: { name: "s3-keys" } } : {}),
            },
        },
        ...(o.redis
            ? {
                  redis: {
                      address: o.redis.addr,
                      db: o.db ?? 0,
                      ...(keysFrom === "inputs"
                          ? { password: o.redis.password }
                          : { passwordSecret: { name: "redis-auth" } }),
                  },
              }
            : {}),
        ...o.more,
    };
    const s = settingsFromArgs("registry", args);
    const config = renderRegistryConfig(s);
    const secretInputs = secretInputEntries({
        s3AccessKey: inputs.accessKey,
        s3SecretKey: inputs.secretKey,
        redisPassword: keysFrom === "inputs" ? o.redis?.password : undefined,
    });
    const secret = renderSecret(
        s,
        htpasswd,
        o.httpSecret,
        { username: "registry-pull", password: "pull-pass" },
        secretInputs,
    );
    const deployment = renderDeployment(s, podChecksum(config, htpasswd, o.httpSecret, Object.values(secretInputs)));
    const env = podEnvironment(deployment, { ...userSecrets, [secret.metadata!.name!]: secret.stringData! });
    return { config, deployment, env, settings: s };
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

/** GET over plain HTTP (the debug server serves no TLS): status and body. */
function plainGet(url: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
        http.get(url, res => {
            let body = "";
            res.on("data", d => {
                body += d;
            });
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        }).on("error", reject);
    });
}

describe("the registry on S3 storage (SeaweedFS), with Redis as its cache, as the component renders it", () => {
    let dir: string;
    let tls: SelfSignedCertificate;
    let s3: RunningS3Server;
    let redis: RunningRedis | undefined;
    let htpasswd: string;
    const started: RunningRegistry[] = [];
    const servers: { stop(): Promise<void> }[] = [];

    /** A registry process running what the component renders for these options. */
    const run = async (binary: string, o: Omit<PodOptions, "s3"> & { s3?: RunningS3Server }) => {
        const pod = renderPod({ s3, ...o }, htpasswd);
        const registry = await startRegistry({
            config: pod.config,
            env: pod.env,
            deployment: pod.deployment,
            htpasswd,
            tls,
            binary,
        });
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
        await Promise.all(servers.map(r => r.stop()));
        await s3?.stop();
        await redis?.stop();
        if (dir) {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    describe.each(registries)("$label", ({ major, image, binary, available, why }) => {
        const root = `/registry-${major}`;
        const whyNoCache = available ? whyNoRedis : why;

        itWhen(available, why)(
            "a skopeo push lands in the bucket under rootDirectory, and a pull back checks every blob's digest",
            async () => {
                const registry = await run(binary, { image, rootDirectory: root, httpSecret: "kept-http-secret" });
                const image1 = makeOciImage(path.join(dir, `image-${major}`), "v1", bigContent());
                pushImage(target(registry), image1.source, "s3/hello:v1");
                const digests = await verifyPulled(tls, registry, "s3/hello", "v1", image1.manifestDigest);
                const keys = await s3.keys(`${root.slice(1)}/`);
                expect(digests).toHaveLength(2);
                for (const digest of digests) {
                    expect(keys).toContain(blobKey(root, digest));
                }
                // A client's pull: skopeo checks every digest again on the way into a local OCI layout.
                const pulled = path.join(dir, `pulled-${major}`);
                pullImage(target(registry), "s3/hello:v1", `oci:${pulled}:v1`);
                const index = JSON.parse(fs.readFileSync(path.join(pulled, "index.json"), "utf8"));
                expect(index.manifests[0].digest).toBe(image1.manifestDigest);
                // Nothing went to the filesystem: the directory mounted at the pod's data path stays empty.
                expect(fs.readdirSync(registry.dataDir)).toEqual([]);
            },
        );

        itWhen(available && haveRedis, whyNoCache)(
            "keys and the Redis password from the user's Secrets: a push fills Redis with its blobs' descriptors and pulls verify",
            async () => {
                const db = major;
                const registry = await run(binary, {
                    image,
                    rootDirectory: root,
                    httpSecret: "kept-http-secret",
                    redis,
                    db,
                    keysFrom: "userSecret",
                });
                const image1 = makeOciImage(path.join(dir, `cached-${major}`), "v1", bigContent());
                pushImage(target(registry), image1.source, "s3/cached:v1");
                const digests = await verifyPulled(tls, registry, "s3/cached", "v1", image1.manifestDigest);
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
            "a Redis password YAML would misread reaches Redis intact through the rendered Secret; unquoted, it stops the registry",
            async () => {
                // A map, a boolean and a comment to YAML: what a plain env value would turn into something else.
                const hostile = await startRedis({ password: '7: true #"x' });
                servers.push(hostile);
                const o = { image, rootDirectory: root, httpSecret: "kept-http-secret", redis: hostile, db: 1 };
                const registry = await run(binary, o);
                const image1 = makeOciImage(path.join(dir, `hostile-${major}`), "v1", `hostile ${major}\n`);
                pushImage(target(registry), image1.source, "s3/hostile:v1");
                const digests = await verifyPulled(tls, registry, "s3/hostile", "v1", image1.manifestDigest);
                expect(await hostile.commandIn(1, "HGET", `blobs::${digests[1]}`, "digest")).toBe(digests[1]);
                // The same password as a user's Secret holding it unquoted would give it.
                const pod = renderPod({ ...o, s3 }, htpasswd);
                await expect(
                    startRegistry({
                        config: pod.config,
                        env: { ...pod.env, REGISTRY_REDIS_PASSWORD: hostile.password },
                        deployment: pod.deployment,
                        htpasswd,
                        tls,
                        binary,
                    }),
                ).rejects.toThrow(/cannot unmarshal !!map into string/);
            },
        );

        itWhen(available && haveRedis, whyNoCache)(
            "the other major version's redis block leaves Redis unconfigured, and the registry refuses to start",
            async () => {
                await expect(
                    run(binary, {
                        image,
                        rootDirectory: root,
                        httpSecret: "kept-http-secret",
                        redis,
                        more: { imageMajorVersion: major === 3 ? 2 : 3 },
                    }),
                ).rejects.toThrow(/redis configuration required/);
            },
        );

        itWhen(available, why)(
            "metrics: the debug port serves Prometheus metrics of the requests served, the registry's port does not",
            async () => {
                const registry = await run(binary, {
                    image,
                    rootDirectory: root,
                    httpSecret: "kept-http-secret",
                    more: { metrics: { enabled: true } },
                });
                expect((await call(tls, `${registry.url}/v2/_catalog`)).status).toBe(200);
                const metrics = await plainGet(`${registry.debugUrl}/metrics`);
                expect(metrics.status).toBe(200);
                expect(metrics.body).toMatch(
                    /^registry_http_request_duration_seconds_count\{handler="catalog",method="get"\} 1$/m,
                );
                // The debug port serves Go's profiles too: the reason it stays inside the cluster.
                expect((await plainGet(`${registry.debugUrl}/debug/pprof/`)).status).toBe(200);
                expect((await call(tls, `${registry.url}/metrics`)).status).toBe(404);
                expect((await call(tls, `${registry.url}/debug/pprof/`)).status).toBe(404);
            },
        );

        itWhen(available, why)(
            "with health.storagedriver on, every request answers 503 once the S3 server is gone (the probes' path too)",
            async () => {
                const own = await startS3Server({ bucket: "health" });
                servers.push(own);
                const pod = renderPod(
                    { image, s3: own, rootDirectory: root, httpSecret: "kept-http-secret" },
                    htpasswd,
                );
                expect(JSON.parse(pod.config).health.storagedriver).toEqual({
                    enabled: true,
                    interval: "10s",
                    threshold: 3,
                });
                const registry = await startRegistry({
                    config: pod.config,
                    // The rendered check, quicker: every second, and failing at the first error (30 s otherwise).
                    env: {
                        ...pod.env,
                        REGISTRY_HEALTH_STORAGEDRIVER_INTERVAL: "1s",
                        REGISTRY_HEALTH_STORAGEDRIVER_THRESHOLD: "1",
                    },
                    deployment: pod.deployment,
                    htpasswd,
                    tls,
                    binary,
                });
                started.push(registry);
                expect((await call(tls, `${registry.url}/v2/`)).status).toBe(200);
                await own.stop();
                const deadline = Date.now() + 30000;
                let status: number;
                while ((status = (await call(tls, `${registry.url}/`)).status) !== 503 && Date.now() < deadline) {
                    await new Promise(r => setTimeout(r, 200));
                }
                expect(status).toBe(503);
                expect((await call(tls, `${registry.url}/v2/`)).status).toBe(503);
            },
        );

        itWhen(available && haveRedis, whyNoCache)(
            "two instances on the same S3, http.secret and Redis: a chunked upload alternating between them " +
                "completes and verifies from both; an instance with another secret refuses the upload's state",
            async () => {
                const o = { image, rootDirectory: root, redis, db: major };
                const [a, b, stranger] = await Promise.all([
                    run(binary, { ...o, httpSecret: "shared-http-secret" }),
                    run(binary, { ...o, httpSecret: "shared-http-secret" }),
                    run(binary, { ...o, httpSecret: "another-http-secret" }),
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
