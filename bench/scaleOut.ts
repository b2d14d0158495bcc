// Scale-out figures on the real node of tests/engine (start-cluster.sh: kubelet, containerd, kube-proxy, Traefik), with
// the S3 server (SeaweedFS) and Redis running as pods (tests/engine/storageServers.ts). Figures are printed; nothing is
// asserted.
//   1. Pull throughput through Traefik of one registry replica against two, on S3 with Redis, in the same run: rounds
//      alternate (1, 2, 1, 2... replicas), medians compared.
//   2. The push of a 100 MB layer straight to the pod of a registry on S3 against one on a filesystem claim
//      (local-path), rounds alternating, medians compared.
//
// Run as root, one cluster per machine:
//   flock /tmp/distribution-registry-real-node.lock npm run bench:scale
// Needs what `npm run test:e2e` builds (tests/engine/build-tools.sh, tests/engine/images/build-images.sh).
// BENCH_PUSH_MB (100), BENCH_PUSH_ROUNDS (3), BENCH_PULL_SECONDS (10), BENCH_PULL_CLIENTS (8), BENCH_PULL_ROUNDS (3)
// change the sizes.
import * as fs from "fs";
import * as https from "https";
import * as os from "os";
import * as path from "path";
import { renderHtpasswd } from "../components/htpasswd";
import { renderRegistryConfig } from "../components/registryConfig";
import { PlainSettingsArgs, RegistrySettings, secretInputEntries, settingsFromArgs } from "../components/settings";
import { renderConfigMap } from "../components/templates/configMap";
import { renderDeployment } from "../components/templates/deployment";
import { renderIngress } from "../components/templates/ingress";
import { renderNamespace } from "../components/templates/namespace";
import { renderPersistentVolumeClaim } from "../components/templates/persistentVolumeClaim";
import { podChecksum } from "../components/templates/registryPod";
import { renderSecret } from "../components/templates/secret";
import { renderService } from "../components/templates/service";
import { KubernetesApi } from "../tests/engine/kubernetesApi";
import { makeRandomLayerImage } from "../tests/engine/randomLayerImage";
import {
    imageReference,
    isReady,
    podsOf,
    run,
    startRealNodeCluster,
    waitFor,
    whyNotRunnable,
} from "../tests/engine/realNode";
import { startStorageServers } from "../tests/engine/storageServers";
import { manifestTypes } from "../tests/support/registryImages";

const ingressAddress = "127.0.0.2";
const user = { username: "bench", password: "bench-password" };
const pushMegabytes = Number(process.env.BENCH_PUSH_MB ?? 100);
const pushRounds = Number(process.env.BENCH_PUSH_ROUNDS ?? 3);
const pullSeconds = Number(process.env.BENCH_PULL_SECONDS ?? 10);
const pullClients = Number(process.env.BENCH_PULL_CLIENTS ?? 8);
const pullRounds = Number(process.env.BENCH_PULL_ROUNDS ?? 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const seconds = (since: bigint) => Number(process.hrtime.bigint() - since) / 1e9;

/** The component's objects for these inputs, posted to the cluster; resolves once every pod is Ready. */
async function deploy(
    api: KubernetesApi,
    args: PlainSettingsArgs,
    secretInputs: Record<string, string>,
): Promise<RegistrySettings> {
    const s = settingsFromArgs("registry", args);
    const htpasswd = renderHtpasswd([user], "bench-salt-key", s.bcryptCost);
    const httpSecret = "bench-http-secret";
    const config = renderRegistryConfig(s);
    const objects: [string, unknown][] = [
        ["/api/v1/namespaces", renderNamespace(s)],
        [`/api/v1/namespaces/${s.namespace}/secrets`, renderSecret(s, htpasswd, httpSecret, user, secretInputs)],
        [`/api/v1/namespaces/${s.namespace}/configmaps`, renderConfigMap(s)],
        ...(s.storage.s3
            ? []
            : [
                  [`/api/v1/namespaces/${s.namespace}/persistentvolumeclaims`, renderPersistentVolumeClaim(s)] as [
                      string,
                      unknown,
                  ],
              ]),
        [
            `/apis/apps/v1/namespaces/${s.namespace}/deployments`,
            renderDeployment(s, podChecksum(config, htpasswd, httpSecret, Object.values(secretInputs))),
        ],
        [`/api/v1/namespaces/${s.namespace}/services`, renderService(s)],
        [`/apis/networking.k8s.io/v1/namespaces/${s.namespace}/ingresses`, renderIngress(s)],
    ];
    for (const [collection, object] of objects) {
        await api.create(collection, object);
    }
    await readyPods(api, s, s.replicas);
    return s;
}

/** Waits until exactly `count` registry pods run, all Ready (none terminating), and returns them. */
function readyPods(api: KubernetesApi, s: RegistrySettings, count: number): Promise<any[]> {
    return waitFor(`${count} Ready registry pods in ${s.namespace}`, 240, async () => {
        const pods = await podsOf(api, s.namespace, `app.kubernetes.io/instance=${s.name}`);
        const ready = pods.filter(isReady);
        return pods.length === count && ready.length === count ? ready : undefined;
    });
}

async function scale(api: KubernetesApi, s: RegistrySettings, replicas: number): Promise<void> {
    const patched = await api.request(
        "PATCH",
        `/apis/apps/v1/namespaces/${s.namespace}/deployments/${s.name}`,
        { spec: { replicas } },
        "application/merge-patch+json",
    );
    if (patched.status !== 200) {
        throw new Error(`scaling to ${replicas}: ${patched.status} ${JSON.stringify(patched.body)}`);
    }
    await readyPods(api, s, replicas);
    // Traefik follows the endpoints within a second or so.
    await new Promise(r => setTimeout(r, 3000));
}

/** skopeo copy of a docker-archive to a registry's pod over plain HTTP; seconds taken. */
function push(archive: string, target: string, authFile: string): number {
    const started = process.hrtime.bigint();
    run("skopeo", [
        "copy",
        "--authfile",
        authFile,
        "--dest-tls-verify=false",
        `docker-archive:${archive}`,
        `docker://${target}`,
    ]);
    return seconds(started);
}

/** Pulls per second (manifest by tag, then its layer) through Traefik, `pullClients` keep-alive clients. */
async function pullsPerSecond(host: string, repository: string, layer: string): Promise<number> {
    const agent = new https.Agent({ keepAlive: true, maxSockets: pullClients, rejectUnauthorized: false });
    const auth = `Basic ${Buffer.from(`${user.username}:${user.password}`).toString("base64")}`;
    const get = (urlPath: string, accept?: string) =>
        new Promise<number>((resolve, reject) => {
            https
                .get(
                    {
                        host: ingressAddress,
                        port: 443,
                        servername: host,
                        path: urlPath,
                        agent,
                        headers: { Host: host, Authorization: auth, ...(accept ? { Accept: accept } : {}) },
                    },
                    res => {
                        res.resume();
                        res.on("end", () => resolve(res.statusCode ?? 0));
                    },
                )
                .on("error", reject);
        });
    const pull = async () => {
        const statuses = [
            await get(`/v2/${repository}/manifests/v1`, manifestTypes),
            await get(`/v2/${repository}/blobs/${layer}`),
        ];
        if (statuses.some(code => code !== 200)) {
            throw new Error(`pull answered ${statuses.join(", ")}`);
        }
    };
    await Promise.all(Array.from({ length: pullClients }, pull)); // warm-up: connections open
    let pulls = 0;
    const started = process.hrtime.bigint();
    await Promise.all(
        Array.from({ length: pullClients }, async () => {
            while (seconds(started) < pullSeconds) {
                await pull();
                pulls++;
            }
        }),
    );
    const rate = pulls / seconds(started);
    agent.destroy();
    return rate;
}

export async function main(): Promise<void> {
    const why = whyNotRunnable();
    if (why) {
        throw new Error(`the real node cannot run here: ${why}`);
    }
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "dr-bench-scale-"));
    const cluster = startRealNodeCluster(path.join(work, "cluster"));
    try {
        const storage = await startStorageServers(cluster.api, { bucket: "bench" });
        const image = imageReference("registry-3");
        const common = { image, tls: { mode: "ingressDefault" as const } };
        const keys = { accessKey: storage.accessKey, secretKey: storage.secretKey };
        const onS3 = await deploy(
            cluster.api,
            {
                ...common,
                namespace: "bench-s3",
                hostname: "s3.bench.test",
                storage: {
                    type: "s3",
                    s3: {
                        bucket: storage.bucket,
                        regionEndpoint: storage.s3Endpoint,
                        rootDirectory: "/bench",
                        ...keys,
                    },
                },
                redis: { address: storage.redisAddress, password: storage.redisPassword },
            },
            secretInputEntries({
                s3AccessKey: keys.accessKey,
                s3SecretKey: keys.secretKey,
                redisPassword: storage.redisPassword,
            }),
        );
        const onClaim = await deploy(cluster.api, { ...common, namespace: "bench-fs", hostname: "fs.bench.test" }, {});

        const authFile = path.join(work, "auth.json");
        const podTarget = async (s: RegistrySettings) => `${(await readyPods(cluster.api, s, 1))[0].status.podIP}:5000`;
        const targets: [string, string][] = [
            ["S3 (SeaweedFS in the cluster)", await podTarget(onS3)],
            ["filesystem claim (local-path)", await podTarget(onClaim)],
        ];
        for (const [, target] of targets) {
            run(
                "skopeo",
                [
                    "login",
                    "--authfile",
                    authFile,
                    "--tls-verify=false",
                    "--username",
                    user.username,
                    "--password-stdin",
                    target,
                ],
                { input: user.password },
            );
        }

        // 1. Pull throughput: a 1 MB layer image on S3, pulled through Traefik with one replica, then two.
        const small = makeRandomLayerImage(path.join(work, "pull-image"), 1);
        push(small, `${targets[0][1]}/pulled:v1`, authFile);
        const manifest = JSON.parse(
            run("skopeo", [
                "inspect",
                "--raw",
                "--tls-verify=false",
                "--authfile",
                authFile,
                `docker://${targets[0][1]}/pulled:v1`,
            ]),
        );
        const layer: string = manifest.layers[0].digest;
        const pullRuns: Record<string, number[]> = { "1 replica": [], "2 replicas": [] };
        const order = Array.from({ length: pullRounds }, () => [1, 2]).flat();
        for (const replicas of order) {
            await scale(cluster.api, onS3, replicas);
            const rate = await pullsPerSecond(onS3.hostname, "pulled", layer);
            pullRuns[replicas === 1 ? "1 replica" : "2 replicas"].push(rate);
            console.log(`  pulls/s with ${replicas} replica(s): ${rate.toFixed(1)}`);
        }
        await scale(cluster.api, onS3, 1);

        // 2. Push: a fresh random 100 MB layer per push (a blob already there is not sent again), routes alternating.
        const pushRuns: Record<string, number[]> = Object.fromEntries(targets.map(([name]) => [name, []]));
        for (let round = 0; round < pushRounds; round++) {
            for (const [i, [name, target]] of targets.entries()) {
                const archive = makeRandomLayerImage(path.join(work, `layer-${round}-${i}`), pushMegabytes);
                pushRuns[name].push(push(archive, `${target}/bench:round${round}`, authFile));
                fs.rmSync(path.dirname(archive), { recursive: true, force: true });
            }
        }

        const pullMedians = Object.fromEntries(Object.entries(pullRuns).map(([k, xs]) => [k, median(xs)]));
        const pushMedians = Object.fromEntries(Object.entries(pushRuns).map(([k, xs]) => [k, median(xs)]));
        console.log(`\npull throughput through Traefik (${pullClients} keep-alive clients, ${pullSeconds} s a round):`);
        console.log(`  runs (pulls/s): ${JSON.stringify(pullRuns)}`);
        for (const [k, rate] of Object.entries(pullMedians)) {
            console.log(`  ${k}: median ${rate.toFixed(1)} pulls/s`);
        }
        console.log(`  2 replicas / 1 replica: ${(pullMedians["2 replicas"] / pullMedians["1 replica"]).toFixed(2)}`);
        console.log(`\npush of a ${pushMegabytes} MB layer straight to the pod, ${pushRounds} rounds (s):`);
        console.log(`  runs: ${JSON.stringify(pushRuns)}`);
        for (const [k, s] of Object.entries(pushMedians)) {
            console.log(`  ${k}: median ${s.toFixed(2)} s (${(pushMegabytes / s).toFixed(0)} MB/s)`);
        }
        const [s3Name, claimName] = targets.map(([name]) => name);
        console.log(`  S3 / filesystem claim: ${(pushMedians[s3Name] / pushMedians[claimName]).toFixed(2)}`);
        console.log(
            `\n(${os.cpus().length} cores shared by the clients, Traefik, the registry pods and the S3 server)`,
        );
    } finally {
        cluster.stop();
        fs.rmSync(work, { recursive: true, force: true });
    }
}

if (require.main === module) {
    main().catch(e => {
        console.error(e);
        process.exit(1);
    });
}
