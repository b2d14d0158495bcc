// The cost of Traefik on a push: a 100 MB layer pushed through Traefik's TLS entrypoint and straight to the registry
// pod, on the real node of tests/engine (start-cluster.sh: kubelet, containerd, kube-proxy, Traefik). Figures are
// printed; nothing is asserted. Moved here from the e2e test, where it asserted only that a time was above zero.
//
// Run as root, one cluster per machine:
//   npm run bench:push      (on a machine shared with other runs of the real node, under a lock: flock <lock> npm run bench:push)
// Needs what `npm run test:e2e` builds (tests/engine/build-tools.sh, tests/engine/images/build-images.sh).
// BENCH_PUSH_MB (default 100) and BENCH_PUSH_ROUNDS (default 3) change the size and the rounds.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderHtpasswd } from "../components/htpasswd";
import { renderRegistryConfig } from "../components/registryConfig";
import { podChecksum } from "../components/templates/registryPod";
import { settingsFromArgs } from "../components/settings";
import { renderConfigMap } from "../components/templates/configMap";
import { renderDeployment } from "../components/templates/deployment";
import { renderIngress } from "../components/templates/ingress";
import { renderNamespace } from "../components/templates/namespace";
import { renderSecret } from "../components/templates/secret";
import { renderService } from "../components/templates/service";
import { makeRandomLayerImage } from "../tests/engine/randomLayerImage";
import { imageReference, readyPod, run, startRealNodeCluster, waitFor, whyNotRunnable } from "../tests/engine/realNode";

const ingressAddress = "127.0.0.2";
const user = { username: "bench", password: "bench-password" };
const megabytes = Number(process.env.BENCH_PUSH_MB ?? 100);
const rounds = Number(process.env.BENCH_PUSH_ROUNDS ?? 3);

export interface PushFigures {
    megabytes: number;
    /** Seconds per push, per route, in the order they ran (the routes alternate). */
    runs: Record<string, number[]>;
    /** Median seconds per route, and their ratio. */
    medians: Record<string, number>;
    ratio: number;
}

export async function main(): Promise<PushFigures> {
    const why = whyNotRunnable();
    if (why) {
        throw new Error(`the real node cannot run here: ${why}`);
    }
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "dr-bench-push-"));
    const cluster = startRealNodeCluster(path.join(work, "cluster"));
    try {
        // The program's own objects, rendered as the component renders them: Distribution 3.x, Traefik's default
        // certificate (tls ingressDefault), emptyDir storage so nothing outlives the run.
        const s = settingsFromArgs("registry", {
            image: imageReference("registry-3"),
            namespace: "bench",
            tls: { mode: "ingressDefault" },
            storage: { type: "emptyDir" },
        });
        const htpasswd = renderHtpasswd([user], "bench-salt-key", s.bcryptCost);
        const httpSecret = "bench-http-secret";
        const objects: [string, unknown][] = [
            ["/api/v1/namespaces", renderNamespace(s)],
            [`/api/v1/namespaces/${s.namespace}/secrets`, renderSecret(s, htpasswd, httpSecret, user)],
            [`/api/v1/namespaces/${s.namespace}/configmaps`, renderConfigMap(s)],
            [
                `/apis/apps/v1/namespaces/${s.namespace}/deployments`,
                renderDeployment(s, podChecksum(renderRegistryConfig(s), htpasswd, httpSecret)),
            ],
            [`/api/v1/namespaces/${s.namespace}/services`, renderService(s)],
            [`/apis/networking.k8s.io/v1/namespaces/${s.namespace}/ingresses`, renderIngress(s)],
        ];
        for (const [collection, object] of objects) {
            await cluster.api.create(collection, object);
        }
        const pod = await waitFor("the registry pod to be Ready", 180, () =>
            readyPod(cluster.api, s.namespace, `app.kubernetes.io/instance=${s.name}`),
        );
        // skopeo resolves the registry's name through a hosts file of its own, in a private mount namespace.
        const hosts = path.join(work, "hosts");
        fs.writeFileSync(hosts, `${fs.readFileSync("/etc/hosts", "utf8")}${ingressAddress} ${s.hostname}\n`);
        const skopeo = (args: string[], input?: string) =>
            run(
                "unshare",
                [
                    "--mount",
                    "--propagation",
                    "private",
                    "sh",
                    "-c",
                    'mount --bind "$1" /etc/hosts && shift && exec skopeo "$@"',
                    "sh",
                    hosts,
                    ...args,
                ],
                { input, stdio: ["pipe", "pipe", "pipe"] },
            );
        const authFile = path.join(work, "auth.json");
        const routes: [string, string][] = [
            ["through Traefik", s.hostname],
            ["straight to the pod", `${pod.status.podIP}:5000`],
        ];
        for (const [, target] of routes) {
            skopeo(
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
                user.password,
            );
        }
        // The routes alternate, medians are compared: one push each is at the mercy of the page cache.
        const runs: Record<string, number[]> = Object.fromEntries(routes.map(([route]) => [route, []]));
        for (let round = 0; round < rounds; round++) {
            for (const [i, [route, target]] of routes.entries()) {
                // A fresh random layer each time: a blob the registry already has would not be sent again.
                const archive = makeRandomLayerImage(path.join(work, `layer-${round}-${i}`), megabytes);
                const started = process.hrtime.bigint();
                skopeo([
                    "copy",
                    "--authfile",
                    authFile,
                    "--dest-tls-verify=false",
                    `docker-archive:${archive}`,
                    `docker://${target}/bench:round${round}-route${i}`,
                ]);
                runs[route].push(Number(process.hrtime.bigint() - started) / 1e9);
                fs.rmSync(path.dirname(archive), { recursive: true, force: true });
            }
        }
        const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
        const medians = Object.fromEntries(Object.entries(runs).map(([route, xs]) => [route, median(xs)]));
        const figures: PushFigures = {
            megabytes,
            runs,
            medians,
            ratio: Number((medians["through Traefik"] / medians["straight to the pod"]).toFixed(2)),
        };
        console.log(`push of a ${megabytes} MB layer, ${rounds} rounds (seconds): ${JSON.stringify(runs)}`);
        for (const [route, seconds] of Object.entries(medians)) {
            console.log(`  ${route}: median ${seconds.toFixed(2)} s (${(megabytes / seconds).toFixed(0)} MB/s)`);
        }
        console.log(`  through Traefik / straight to the pod: ${figures.ratio}`);
        return figures;
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
