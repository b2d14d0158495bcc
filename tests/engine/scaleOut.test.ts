import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as path from "path";
import { itWhen } from "../support/requirements";
import {
    imageReference,
    imagesDir,
    isReady,
    machineState,
    podsOf,
    readyPods,
    run,
    waitFor,
    whyNotRunnable,
} from "./realNode";
import {
    ApiTarget,
    deleteManifest,
    manifestTypes,
    pushImage,
    randomLayer,
    uploadStatus,
} from "../support/registryImages";
import { collectGarbageNow, GarbageCollectionRun } from "./garbageCollectionJob";
import { startStorageServers, StorageServers } from "./storageServers";
import {
    hostname,
    ingressAddress,
    password,
    registryPods,
    removeWork,
    startTestbed,
    Testbed,
    username,
} from "./testbed";

/**
 * Several replicas on a real S3 server, with a shared Redis, on the real node: SeaweedFS (`weed mini`) and Debian's
 * redis-server run as pods in the cluster (images/build-images.sh), reached by their ClusterIPs (no CoreDNS here).
 * `pulumi up` of the program deploys registry 2.8 with storageType s3, two replicas, Redis and metrics. Pulls run every
 * 100 ms through Traefik while one pod is evicted (the PodDisruptionBudget refuses the second) and while a rollout
 * replaces every pod with registry 3.x (the image changes, and so does the Redis block's shape): none may fail. The
 * images survive deleting every pod; a garbage collection run meanwhile makes both replicas read-only, frees the
 * deleted image's blobs in the bucket and empties Redis's database; the bucket keeps the rest after `destroy`. Metrics are scraped from each pod's
 * metrics port from the host and are not served through Traefik. Figures are printed, nothing asserts a time.
 */
const why = whyNotRunnable();
const e2e = itWhen(why === undefined, why ?? "");

const stack = "scale-out";
const bucket = "registry";
const rootDirectory = "/e2e";
const redisDb = 3;
const figures: Record<string, number | string> = {};
let bed: Testbed;
/** The S3 server and Redis in the cluster; their random keys and password must appear in plaintext nowhere. */
let storage: StorageServers;
/** The pushed image as the registry serves it. */
let pushed: { digest: string; layer: string };
let upOutput = "";

/** Every registry pod, terminating ones too. */
const allRegistryPods = () => podsOf(bed.cluster.api, "examples", registryPods);

/** Two Ready registry pods and no other (none terminating), each running `image`. */
async function settledReplicas(image: string): Promise<any[] | undefined> {
    const all = await allRegistryPods();
    const ready = all.filter(isReady);
    return all.length === 2 && ready.length === 2 && ready.every(p => p.spec.containers[0].image === image)
        ? ready
        : undefined;
}

const pulumi = (args: string[], input?: string) =>
    run("pulumi", [...args, "--stack", stack], { cwd: bed.project.dir, env: bed.project.env, input });

/** The connection pools the tests opened, closed when the file ends. */
const agents: https.Agent[] = [];

/** One HTTPS connection pool to Traefik, verifying the stack's CA, as a client that keeps its connections. */
function ingressClient(ca: string) {
    const agent = new https.Agent({ keepAlive: true, ca, servername: hostname });
    agents.push(agent);
    const auth = `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
    return (urlPath: string, accept?: string) =>
        new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
            const req = https.request(
                {
                    host: ingressAddress,
                    port: 443,
                    path: urlPath,
                    agent,
                    timeout: 10000,
                    headers: { Host: hostname, Authorization: auth, ...(accept ? { Accept: accept } : {}) },
                },
                res => {
                    const chunks: Buffer[] = [];
                    res.on("data", d => chunks.push(d));
                    res.on("end", () =>
                        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
                    );
                },
            );
            req.on("error", reject);
            req.on("timeout", () => req.destroy(new Error(`GET ${urlPath} timed out`)));
            req.end();
        });
}

const sha256 = (b: Buffer) => `sha256:${crypto.createHash("sha256").update(b).digest("hex")}`;

interface PullTally {
    pulls: number;
    failures: string[];
}

/**
 * Pulls hello:v1 through Traefik every 100 ms (the manifest by tag, then its layer, each checked against its digest)
 * until stopped; every pull that does not return the right bytes is a failure, with why.
 */
function startPulling(): { started(): number; stop(): Promise<PullTally> } {
    const get = ingressClient(bed.project.outputs(stack).caCertificate);
    const tally: PullTally = { pulls: 0, failures: [] };
    const pullOnce = async () => {
        const manifest = await get("/v2/hello/manifests/v1", manifestTypes);
        if (manifest.status !== 200 || sha256(manifest.body) !== pushed.digest) {
            throw new Error(`manifest: ${manifest.status} ${manifest.body.toString().slice(0, 200)}`);
        }
        const layer = await get(`/v2/hello/blobs/${pushed.layer}`);
        if (layer.status !== 200 || sha256(layer.body) !== pushed.layer) {
            throw new Error(`layer: ${layer.status} ${layer.body.toString().slice(0, 200)}`);
        }
    };
    // A pull starts every 100 ms, whether or not the one before has finished, as clients of a busy registry do.
    const inFlight: Promise<void>[] = [];
    const timer = setInterval(() => {
        const n = ++tally.pulls;
        inFlight.push(pullOnce().catch(e => void tally.failures.push(`pull ${n}: ${(e as Error).message}`)));
    }, 100);
    return {
        started: () => tally.pulls,
        async stop() {
            clearInterval(timer);
            await Promise.all(inFlight);
            return tally;
        },
    };
}

/** GET on a pod's port from the host (the pod network is on this machine's cni0 bridge). */
function podGet(ip: string, port: number, urlPath: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
        http.get({ host: ip, port, path: urlPath, timeout: 5000, agent: false }, res => {
            let body = "";
            res.on("data", d => {
                body += d;
            });
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        }).on("error", reject);
    });
}

/** The count of GET manifest requests a pod's metrics report. */
function manifestGets(metrics: string): number {
    const m = /^registry_http_request_duration_seconds_count\{handler="manifest",method="get"\} (\d+)$/m.exec(metrics);
    return m ? Number(m[1]) : 0;
}

beforeAll(async () => {
    if (why) {
        return;
    }
    bed = await startTestbed("scale-out");
    storage = await startStorageServers(bed.cluster.api, { bucket });
    figures["S3 server and Redis Ready, bucket made (s)"] = storage.seconds;
}, 900000);

afterAll(async () => {
    agents.forEach(a => a.destroy());
    if (!bed) {
        return;
    }
    fs.writeFileSync(path.join(bed.work, "logs", "figures.json"), JSON.stringify(figures, null, 2));
    console.log(`figures:\n${JSON.stringify(figures, null, 2)}`);
    await bed.stop();
    removeWork(bed.work);
}, 300000);

const s3Keys = () => storage.keys(`${rootDirectory.slice(1)}/`);
/** The bucket's key of a blob's data, as the registry's storage driver lays it out under the root directory. */
const blobKey = (digest: string) => {
    const hex = digest.slice("sha256:".length);
    return `${rootDirectory.slice(1)}/docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`;
};

describe("two registry replicas on S3 with a shared Redis, on the real node", () => {
    e2e(
        "pulumi up: registry 2.8 on the bucket, two Ready pods spread as a preference, a PodDisruptionBudget, the push in the bucket and its descriptors in Redis",
        async () => {
            run("pulumi", ["stack", "init", stack, "--secrets-provider", "passphrase", "--non-interactive"], {
                cwd: bed.project.dir,
                env: bed.project.env,
            });
            bed.writeStackConfig(stack, [
                `image: ${imageReference("registry-2")}`,
                "storageType: s3",
                `s3Bucket: ${bucket}`,
                `s3RegionEndpoint: ${storage.s3Endpoint}`,
                `s3RootDirectory: ${rootDirectory}`,
                "replicas: 2",
                `redisAddress: ${storage.redisAddress}`,
                "redisPasswordSecret: redis-auth",
                `redisDb: ${redisDb}`,
                "metrics: true",
                "pushTool: skopeo",
                "pushImages:",
                `  - docker-archive:${path.join(imagesDir, "e2e-hello.tar")}=hello:v1`,
            ]);
            // The keys as secret config, given on stdin (never on a command line); the Redis password as a user's
            // Secret in the registry's namespace, which therefore exists before `up`.
            pulumi(["config", "set", "--secret", "s3AccessKey"], storage.accessKey);
            pulumi(["config", "set", "--secret", "s3SecretKey"], storage.secretKey);
            pulumi(["config", "set", "createNamespace", "false"]);
            await bed.cluster.api.create("/api/v1/namespaces", {
                apiVersion: "v1",
                kind: "Namespace",
                metadata: { name: "examples" },
            });
            await bed.cluster.api.create("/api/v1/namespaces/examples/secrets", {
                apiVersion: "v1",
                kind: "Secret",
                metadata: { name: "redis-auth", namespace: "examples" },
                stringData: { password: storage.redisPassword },
            });

            const up = await bed.project.cli(`${stack}-up`, [
                "up",
                "--yes",
                "--skip-preview",
                "--non-interactive",
                "--stack",
                stack,
            ]);
            upOutput = up.output;
            expect(up.code).toBe(0);
            figures["pulumi up, two replicas on S3 (s)"] = up.seconds;

            const pods = await waitFor("two Ready registry pods", 60, () =>
                settledReplicas(imageReference("registry-2")),
            );
            expect(pods.map(p => p.spec.nodeName)).toEqual(["dr-node", "dr-node"]);
            // Spread over the nodes as a preference: this one-node cluster still runs both.
            expect(pods[0].spec.topologySpreadConstraints).toEqual([
                {
                    maxSkew: 1,
                    topologyKey: "kubernetes.io/hostname",
                    whenUnsatisfiable: "ScheduleAnyway",
                    labelSelector: {
                        matchLabels: { "app.kubernetes.io/name": "registry", "app.kubernetes.io/instance": "registry" },
                    },
                },
            ]);
            expect(pods[0].spec.volumes.find((v: any) => v.name === "data")).toEqual({ name: "data", emptyDir: {} });
            const budget = await waitFor("the PodDisruptionBudget to count both pods", 60, async () => {
                const b = (
                    await bed.cluster.api.request(
                        "GET",
                        "/apis/policy/v1/namespaces/examples/poddisruptionbudgets/registry",
                    )
                ).body;
                return b.status?.currentHealthy === 2 ? b : undefined;
            });
            expect(budget.spec.maxUnavailable).toBe(1);
            expect(budget.status.disruptionsAllowed).toBe(1);
            expect(
                (await bed.cluster.api.request("GET", "/api/v1/namespaces/examples/persistentvolumeclaims")).body.items,
            ).toEqual([]);

            const get = ingressClient(bed.project.outputs(stack).caCertificate);
            const manifest = await get("/v2/hello/manifests/v1", manifestTypes);
            expect(manifest.status).toBe(200);
            const layers = JSON.parse(manifest.body.toString()).layers;
            expect(layers).toHaveLength(1);
            pushed = { digest: sha256(manifest.body), layer: layers[0].digest };
            expect(bed.project.outputs(stack).digests).toEqual({ "hello:v1": pushed.digest });
            // The blobs live in the bucket, under the root directory.
            expect(await s3Keys()).toContain(blobKey(pushed.layer));
            // The replicas share Redis as their blob-descriptor cache (database redisDb).
            expect(await storage.redis(redisDb, "HGET", `blobs::${pushed.layer}`, "digest")).toBe(pushed.layer);
        },
    );

    e2e(
        "no plaintext S3 key or Redis password in pulumi up's output, the outputs or the state; the keys reach the pods from the Secret",
        async () => {
            const exported = bed.project.exportState(stack);
            const outputs = JSON.stringify(bed.project.outputs(stack, { showSecrets: true }));
            const registrySecret = (
                await bed.cluster.api.request("GET", "/api/v1/namespaces/examples/secrets/registry")
            ).body;
            const configMap = (await bed.cluster.api.request("GET", "/api/v1/namespaces/examples/configmaps/registry"))
                .body;
            const places: [string, string][] = [
                ["state", exported],
                ["the outputs", outputs],
                ["pulumi up's output", upOutput],
                ["the ConfigMap", JSON.stringify(configMap)],
            ];
            expect(places).toHaveLength(4);
            const { accessKey, secretKey, redisPassword } = storage;
            for (const value of [secretKey, accessKey, redisPassword, Buffer.from(secretKey).toString("base64")]) {
                for (const [where, text] of places) {
                    expect(text.includes(value) ? `${where} holds ${value}` : "no plaintext").toBe("no plaintext");
                }
            }
            // In the cluster: quoted in the registry's Secret (the registry reads the environment as YAML).
            const data = (key: string) => Buffer.from(registrySecret.data[key], "base64").toString();
            expect([data("s3-access-key"), data("s3-secret-key")]).toEqual([
                JSON.stringify(accessKey),
                JSON.stringify(secretKey),
            ]);
            expect(registrySecret.data).not.toHaveProperty("redis-password");
            const deployment = (
                await bed.cluster.api.request("GET", "/apis/apps/v1/namespaces/examples/deployments/registry")
            ).body;
            const env = deployment.spec.template.spec.containers[0].env.filter((e: any) => e.valueFrom);
            expect(env).toEqual([
                { name: "REGISTRY_HTTP_SECRET", valueFrom: { secretKeyRef: { name: "registry", key: "http-secret" } } },
                {
                    name: "REGISTRY_STORAGE_S3_ACCESSKEY",
                    valueFrom: { secretKeyRef: { name: "registry", key: "s3-access-key" } },
                },
                {
                    name: "REGISTRY_STORAGE_S3_SECRETKEY",
                    valueFrom: { secretKeyRef: { name: "registry", key: "s3-secret-key" } },
                },
                {
                    name: "REGISTRY_REDIS_PASSWORD",
                    valueFrom: { secretKeyRef: { name: "redis-auth", key: "password" } },
                },
            ]);
        },
    );

    e2e(
        "metrics: each pod's metrics port answers from the host; /metrics and the debug paths through Traefik are 404",
        async () => {
            const pods = await readyPods(bed.cluster.api, "examples", registryPods);
            expect(pods).toHaveLength(2);
            for (const pod of pods) {
                expect(pod.metadata.annotations).toMatchObject({
                    "prometheus.io/scrape": "true",
                    "prometheus.io/port": "5001",
                    "prometheus.io/path": "/metrics",
                });
                const metrics = await podGet(pod.status.podIP, 5001, "/metrics");
                expect(metrics.status).toBe(200);
                expect(metrics.body).toMatch(/^registry_http_in_flight_requests\{handler="manifest"\} \d+$/m);
                expect((await podGet(pod.status.podIP, 5001, "/debug/vars")).status).toBe(200);
            }
            const service = (await bed.cluster.api.request("GET", "/api/v1/namespaces/examples/services/registry"))
                .body;
            expect(service.spec.ports.map((p: any) => `${p.name} ${p.port}`)).toEqual(["http 5000", "metrics 5001"]);
            const ingress = (
                await bed.cluster.api.request(
                    "GET",
                    "/apis/networking.k8s.io/v1/namespaces/examples/ingresses/registry",
                )
            ).body;
            expect(ingress.spec.rules[0].http.paths.map((p: any) => p.backend.service.port)).toEqual([
                { number: 5000 },
            ]);
            const get = ingressClient(bed.project.outputs(stack).caCertificate);
            const throughTraefik = await Promise.all(
                ["/metrics", "/debug/vars", "/debug/pprof/"].map(async p => `${p} ${(await get(p)).status}`),
            );
            expect(throughTraefik).toEqual(["/metrics 404", "/debug/vars 404", "/debug/pprof/ 404"]);
        },
    );

    e2e(
        "pulls every 100 ms through Traefik while one pod is evicted (the budget refuses the second) and replaced: none fails",
        async () => {
            const before = await readyPods(bed.cluster.api, "examples", registryPods);
            expect(before).toHaveLength(2);
            const evict = (pod: any) =>
                bed.cluster.api.request("POST", `/api/v1/namespaces/examples/pods/${pod.metadata.name}/eviction`, {
                    apiVersion: "policy/v1",
                    kind: "Eviction",
                    metadata: { name: pod.metadata.name, namespace: "examples" },
                });
            const pulling = startPulling();
            let during = 0;
            try {
                await new Promise(r => setTimeout(r, 2000));
                const atEviction = pulling.started();
                const started = Date.now();
                expect((await evict(before[0])).status).toBe(201);
                // The budget allows one pod down at a time: the other stays until the replacement is Ready.
                const refused = await evict(before[1]);
                expect(refused.status).toBe(429);
                expect(JSON.stringify(refused.body)).toContain("disruption budget");
                const after = await waitFor("the evicted pod replaced and gone", 180, async () => {
                    const pods = await settledReplicas(imageReference("registry-2"));
                    return pods && !pods.some(p => p.metadata.name === before[0].metadata.name) ? pods : undefined;
                });
                figures["eviction to replacement Ready and the old pod gone (s)"] = (Date.now() - started) / 1000;
                during = pulling.started() - atEviction;
                expect(after.map(p => p.metadata.name)).toContain(before[1].metadata.name);
                await new Promise(r => setTimeout(r, 2000));
            } finally {
                const tally = await pulling.stop();
                figures["pulls during the eviction and replacement"] = during;
                // Pulls ran while the pod was evicted, replaced and gone (at 10 a second), and none failed.
                expect(during).toBeGreaterThan(10);
                expect(tally.failures).toEqual([]);
            }
        },
    );

    e2e(
        "pulls every 100 ms through Traefik while pulumi up rolls both pods to registry 3.x (Redis block reshaped): none fails, both new pods serve",
        async () => {
            const image3 = imageReference("registry-3");
            pulumi(["config", "set", "image", image3]);
            const pulling = startPulling();
            let during = 0;
            let pods: any[] | undefined;
            try {
                await new Promise(r => setTimeout(r, 2000));
                const atRollout = pulling.started();
                const up = await bed.project.cli(`${stack}-rollout`, [
                    "up",
                    "--yes",
                    "--skip-preview",
                    "--non-interactive",
                    "--stack",
                    stack,
                ]);
                expect(up.code).toBe(0);
                expect(up.output).toMatch(/registry-deployment\s+updated/);
                pods = await waitFor("both pods on registry 3.x, the old ones gone", 180, () =>
                    settledReplicas(image3),
                );
                figures["pulumi up rolling two replicas 2.8 -> 3.x (s)"] = up.seconds;
                during = pulling.started() - atRollout;
                await new Promise(r => setTimeout(r, 3000));
            } finally {
                const tally = await pulling.stop();
                figures["pulls during the rollout"] = during;
                expect(during).toBeGreaterThan(10);
                expect(tally.failures).toEqual([]);
            }
            // Traefik balanced the pulls over both new pods: each one's metrics count manifest GETs.
            expect(pods).toHaveLength(2);
            const counts = await Promise.all(
                pods.map(async p => manifestGets((await podGet(p.status.podIP, 5001, "/metrics")).body)),
            );
            expect(counts.map(c => (c > 0 ? "served pulls" : "served none"))).toEqual(["served pulls", "served pulls"]);
            // The config the new pods read: 3.x's Redis block.
            const configMap = (await bed.cluster.api.request("GET", "/api/v1/namespaces/examples/configmaps/registry"))
                .body;
            expect(JSON.parse(configMap.data["config.yml"]).redis.addrs).toEqual([storage.redisAddress]);
        },
    );

    e2e("the image survives deleting every pod: the new pods serve it from the bucket", async () => {
        const before = await readyPods(bed.cluster.api, "examples", registryPods);
        expect(before).toHaveLength(2);
        for (const pod of before) {
            expect(
                (await bed.cluster.api.request("DELETE", `/api/v1/namespaces/examples/pods/${pod.metadata.name}`))
                    .status,
            ).toBe(200);
        }
        const after = await waitFor("two new Ready pods", 180, async () => {
            const pods = await settledReplicas(imageReference("registry-3"));
            return pods && !pods.some(p => before.some(b => b.metadata.uid === p.metadata.uid)) ? pods : undefined;
        });
        expect(after).toHaveLength(2);
        const get = ingressClient(bed.project.outputs(stack).caCertificate);
        const tags = await waitFor("the tags through Traefik", 60, async () => {
            const r = await get("/v2/hello/tags/list");
            return r.status === 200 ? JSON.parse(r.body.toString()) : undefined;
        });
        expect(tags).toEqual({ name: "hello", tags: ["v1"] });
        const manifest = await get("/v2/hello/manifests/v1", manifestTypes);
        expect(sha256(manifest.body)).toBe(pushed.digest);
        const layer = await get(`/v2/hello/blobs/${pushed.layer}`);
        expect(sha256(layer.body)).toBe(pushed.layer);
    });

    e2e(
        "garbage collection with two replicas on S3: both refuse writes meanwhile, the deleted image's blobs leave the bucket, Redis forgets them, and no pull fails",
        async () => {
            const admin: ApiTarget = {
                url: `https://${hostname}`,
                connectTo: ingressAddress,
                ca: bed.project.outputs(stack).caCertificate,
                username,
                password,
            };
            const doomed = await pushImage(admin, "doomed", "v1", [randomLayer(5 * 1024 * 1024)]);
            expect(await deleteManifest(admin, "doomed", doomed.manifestDigest)).toBe(202);
            const doomedKeys = [...doomed.blobs.map(b => b.digest), doomed.manifestDigest].map(blobKey);
            const stored = (keys: string[]) => keys.filter(k => bucketKeys.has(k));
            let bucketKeys = new Set(await s3Keys());
            expect(stored(doomedKeys)).toEqual(doomedKeys);
            const layer = doomed.blobs[1].digest;
            expect(await storage.redis(redisDb, "HGET", `blobs::${layer}`, "digest")).toBe(layer);

            const pulling = startPulling();
            let gc: GarbageCollectionRun;
            try {
                gc = await collectGarbageNow(bed, "examples", "gc-on-s3");
            } finally {
                const tally = await pulling.stop();
                figures["pulls during a garbage collection on S3, two replicas (failed/asked)"] =
                    `${tally.failures.length}/${tally.pulls}`;
                expect({ failures: tally.failures.slice(0, 5), pulled: tally.pulls > 10 }).toEqual({
                    failures: [],
                    pulled: true,
                });
            }
            expect({ exitCode: gc.report.exitCode, gc: gc.report.garbageCollectStatus }).toEqual({
                exitCode: 0,
                gc: "0",
            });
            figures["garbage collection on S3, read-only window (s)"] = gc.report.readOnlySeconds;
            expect(gc.report.blobsDeleted).toBeGreaterThanOrEqual(3);
            bucketKeys = new Set(await s3Keys());
            expect(stored(doomedKeys)).toEqual([]);
            // The shared cache forgot them: a push of the same layer again would upload it.
            expect(await storage.redis(redisDb, "HGET", `blobs::${layer}`, "digest")).toBe(null);
            // Both replicas restarted writable.
            expect(await uploadStatus(admin, "doomed")).toBe(202);
        },
    );

    e2e(
        "pulumi destroy removes the registry's objects and leaves the bucket's blobs (the bucket outlives the stack)",
        async () => {
            const destroy = await bed.project.cli(`${stack}-destroy`, [
                "destroy",
                "--yes",
                "--skip-preview",
                "--non-interactive",
                "--stack",
                stack,
            ]);
            expect(destroy.code).toBe(0);
            const objects = [
                "/apis/apps/v1/namespaces/examples/deployments/registry",
                "/api/v1/namespaces/examples/secrets/registry",
                "/api/v1/namespaces/examples/services/registry",
                "/apis/policy/v1/namespaces/examples/poddisruptionbudgets/registry",
                "/apis/networking.k8s.io/v1/namespaces/examples/ingresses/registry",
            ];
            const statuses = await Promise.all(
                objects.map(async o => `${o}: ${(await bed.cluster.api.request("GET", o)).status}`),
            );
            expect(statuses).toEqual(objects.map(o => `${o}: 404`));
            expect(await s3Keys()).toContain(blobKey(pushed.layer));
            expect(fs.readFileSync(bed.hostsCopy)).toEqual(bed.hostsBefore);
            run("pulumi", ["stack", "rm", "--yes", "--stack", stack], { cwd: bed.project.dir, env: bed.project.env });
        },
    );

    e2e(
        "stopping the node and the Docker engine puts the machine back: rules, routes, links, sysctls, mounts",
        async () => {
            await bed.stop();
            expect(machineState()).toEqual(bed.machineBefore);
        },
    );
});
