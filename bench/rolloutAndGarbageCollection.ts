// Day-two costs on the real node of tests/engine (kubelet, containerd, kube-proxy, Traefik, local-path):
//   1. requests failed while a change (the memory limit) replaces the registry's pod, with the Deployment as it was
//      rendered before (Recreate, no stop delay, no drain) and as it is now (a rolling update, the stop delay, the
//      drain), a client asking GET /v2/ through Traefik every 100 ms;
//   2. a garbage-collection run on the e2e's data (a 50 MB image deleted beside one that shares a layer with it):
//      how long `registry garbage-collect` took, and how long the registry was read-only.
// Figures are printed; nothing is asserted. Run as root, one real node per machine:
//   flock /tmp/distribution-registry-real-node.lock npx ts-node bench/rolloutAndGarbageCollection.ts
// Needs what `npm run test:e2e` builds. BENCH_IMAGE=registry-2 runs Distribution 2.8 (default registry-3).
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderHtpasswd } from "../components/htpasswd";
import { renderRegistryConfig } from "../components/registryConfig";
import { PlainSettingsArgs, RegistrySettings, settingsFromArgs } from "../components/settings";
import { renderConfigMap } from "../components/templates/configMap";
import { renderDeployment } from "../components/templates/deployment";
import { renderGarbageCollectionCronJob } from "../components/templates/garbageCollectionCronJob";
import { renderGarbageCollectionRole } from "../components/templates/garbageCollectionRole";
import { renderGarbageCollectionRoleBinding } from "../components/templates/garbageCollectionRoleBinding";
import { renderGarbageCollectionServiceAccount } from "../components/templates/garbageCollectionServiceAccount";
import { renderIngress } from "../components/templates/ingress";
import { renderNamespace } from "../components/templates/namespace";
import { renderPersistentVolumeClaim } from "../components/templates/persistentVolumeClaim";
import { podChecksum } from "../components/templates/registryPod";
import { renderSecret } from "../components/templates/secret";
import { renderService } from "../components/templates/service";
import { KubernetesApi } from "../tests/engine/kubernetesApi";
import { imageReference, readyPod, startRealNodeCluster, waitFor, whyNotRunnable } from "../tests/engine/realNode";
import { ApiTarget, deleteManifest, pushImage, randomLayer } from "../tests/support/registryImages";

const ingressAddress = "127.0.0.2";
const admin = { username: "bench", password: "bench-password" };
const pull = { username: "bench-pull", password: "bench-pull-password" };
const MB = 1024 * 1024;

/** The registry's objects in their own namespace, served by Traefik for `<namespace>.test`. */
async function deploy(api: KubernetesApi, s: RegistrySettings, deployment: any, config: string): Promise<void> {
    const htpasswd = renderHtpasswd([admin, pull], "bench-salt-key", s.bcryptCost);
    const configMap = renderConfigMap(s) as any;
    configMap.data["config.yml"] = config;
    deployment.spec.template.metadata.annotations = {
        "checksum/secret-and-config": podChecksum(config, htpasswd, "bench-http-secret"),
    };
    const ns = s.namespace;
    for (const [collection, object] of [
        ["/api/v1/namespaces", renderNamespace(s)],
        [`/api/v1/namespaces/${ns}/secrets`, renderSecret(s, htpasswd, "bench-http-secret", pull)],
        [`/api/v1/namespaces/${ns}/configmaps`, configMap],
        [`/api/v1/namespaces/${ns}/persistentvolumeclaims`, renderPersistentVolumeClaim(s)],
        [`/apis/apps/v1/namespaces/${ns}/deployments`, deployment],
        [`/api/v1/namespaces/${ns}/services`, renderService(s)],
        [`/apis/networking.k8s.io/v1/namespaces/${ns}/ingresses`, renderIngress(s)],
    ] as [string, unknown][]) {
        await api.create(collection, object);
    }
    await waitFor(`the ${ns} registry to be Ready`, 180, () =>
        readyPod(api, ns, `app.kubernetes.io/instance=${s.name}`),
    );
}

/**
 * A change of the memory limit, as `pulumi up` would apply it, watched by a client asking every 100 ms from a second
 * before until the new pod serves alone: the requests that failed, and the longest time without a good answer.
 */
async function rollOnce(api: KubernetesApi, s: RegistrySettings) {
    const target: ApiTarget = { url: `https://${s.hostname}`, connectTo: ingressAddress, ...admin };
    const before = await readyPod(api, s.namespace, `app.kubernetes.io/instance=${s.name}`);
    let running = true;
    const answers: { ended: number; ok: boolean }[] = [];
    const started = Date.now();
    const client = (async () => {
        while (running) {
            const asked = Date.now();
            const ok = await ask(target);
            answers.push({ ended: Date.now(), ok });
            await new Promise(r => setTimeout(r, Math.max(0, 100 - (Date.now() - asked))));
        }
    })();
    await new Promise(r => setTimeout(r, 1000));
    const patch = {
        spec: {
            template: { spec: { containers: [{ name: "registry", resources: { limits: { memory: "600Mi" } } }] } },
        },
    };
    const patched = await api.request(
        "PATCH",
        `/apis/apps/v1/namespaces/${s.namespace}/deployments/${s.name}`,
        patch,
        "application/strategic-merge-patch+json",
    );
    if (patched.status !== 200) {
        throw new Error(`PATCH: ${patched.status} ${JSON.stringify(patched.body)}`);
    }
    await waitFor("the new pod to serve alone", 180, async () => {
        const pod = await readyPod(api, s.namespace, `app.kubernetes.io/instance=${s.name}`);
        const pods = (await api.request("GET", `/api/v1/namespaces/${s.namespace}/pods`)).body.items;
        return pod && pod.metadata.uid !== before.metadata.uid && pods.length === 1 ? true : undefined;
    });
    await new Promise(r => setTimeout(r, 2000));
    running = false;
    await client;
    let longest = 0;
    let lastGood = started;
    for (const a of answers) {
        if (a.ok) {
            longest = Math.max(longest, a.ended - lastGood);
            lastGood = a.ended;
        }
    }
    return {
        asked: answers.length,
        failed: answers.filter(a => !a.ok).length,
        longestWithoutAnswerSeconds: Number((longest / 1000).toFixed(2)),
        watchedSeconds: Number(((Date.now() - started) / 1000).toFixed(1)),
    };
}

async function ask(t: ApiTarget): Promise<boolean> {
    const https = await import("https");
    return new Promise(resolve => {
        const req = https.request(
            {
                host: t.connectTo,
                port: 443,
                path: "/v2/",
                servername: new URL(t.url).hostname,
                headers: { Host: new URL(t.url).hostname },
                auth: `${t.username}:${t.password}`,
                rejectUnauthorized: false,
                agent: false,
                timeout: 5000,
            },
            res => {
                res.resume();
                resolve(res.statusCode === 200);
            },
        );
        req.on("error", () => resolve(false));
        req.on("timeout", () => req.destroy());
        req.end();
    });
}

export async function main() {
    const why = whyNotRunnable();
    if (why) {
        throw new Error(`the real node cannot run here: ${why}`);
    }
    const imageName = process.env.BENCH_IMAGE ?? "registry-3";
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "dr-bench-day2-"));
    const cluster = startRealNodeCluster(path.join(work, "cluster"));
    const api = cluster.api;
    try {
        const settingsOf = (namespace: string, more: PlainSettingsArgs = {}) =>
            settingsFromArgs(namespace, {
                image: imageReference(imageName),
                namespace,
                hostname: `${namespace}.test`,
                tls: { mode: "ingressDefault" },
                garbageCollection: { kubectlImage: imageReference("kubectl") },
                ...more,
            });
        // Before: the Deployment as rendered until this change (Recreate; probes on /; no stop delay, no drain).
        const old = settingsOf("before");
        const oldDeployment = renderDeployment(old, "") as any;
        const oldPod = oldDeployment.spec.template.spec;
        oldDeployment.spec.strategy = { type: "Recreate" };
        delete oldPod.affinity;
        delete oldPod.terminationGracePeriodSeconds;
        delete oldPod.containers[0].lifecycle;
        oldPod.containers[0].livenessProbe = { httpGet: { path: "/", port: "http" }, initialDelaySeconds: 10 };
        const oldConfig = JSON.parse(renderRegistryConfig(old));
        delete oldConfig.http.draintimeout;
        await deploy(api, old, oldDeployment, JSON.stringify(oldConfig, null, 2));
        const now = settingsOf("after");
        await deploy(api, now, renderDeployment(now, "") as any, renderRegistryConfig(now));

        const rollouts: Record<string, any> = {};
        for (const s of [old, now]) {
            rollouts[s.namespace] = await rollOnce(api, s);
        }
        console.log(`${imageName}: a memory-limit change, GET /v2/ through Traefik every 100 ms:`);
        for (const [variant, r] of Object.entries(rollouts)) {
            console.log(
                `  ${variant === "before" ? "before (Recreate)" : "now (rolling, stop delay, drain)"}: ${r.failed} of ${r.asked} failed in ${r.watchedSeconds} s, longest without a good answer ${r.longestWithoutAnswerSeconds} s`,
            );
        }

        // Garbage collection on the e2e's data, in the "after" registry.
        const target: ApiTarget = { url: `https://${now.hostname}`, connectTo: ingressAddress, ...admin };
        const shared = randomLayer(2 * MB);
        const big = await pushImage(target, "team/app", "big", [shared, randomLayer(50 * MB)]);
        await pushImage(target, "team/app", "kept", [shared, randomLayer(MB)]);
        await deleteManifest(target, "team/app", big.manifestDigest);
        const ns = now.namespace;
        for (const [collection, object] of [
            [`/api/v1/namespaces/${ns}/serviceaccounts`, renderGarbageCollectionServiceAccount(now)],
            [`/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`, renderGarbageCollectionRole(now)],
            [
                `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`,
                renderGarbageCollectionRoleBinding(now),
            ],
        ] as [string, unknown][]) {
            await api.create(collection, object);
        }
        const cronJob = renderGarbageCollectionCronJob(now) as any;
        const started = Date.now();
        await api.create(`/apis/batch/v1/namespaces/${ns}/jobs`, {
            apiVersion: "batch/v1",
            kind: "Job",
            metadata: { name: "gc-bench", namespace: ns },
            spec: cronJob.spec.jobTemplate.spec,
        });
        const pod = await waitFor("the garbage-collection run", 600, async () => {
            const pods = (await api.request("GET", `/api/v1/namespaces/${ns}/pods?labelSelector=job-name%3Dgc-bench`))
                .body.items;
            return pods[0]?.status.phase === "Succeeded" || pods[0]?.status.phase === "Failed" ? pods[0] : undefined;
        });
        const wall = (Date.now() - started) / 1000;
        if (pod.status.phase !== "Succeeded") {
            for (const container of ["read-only-window", "garbage-collect"]) {
                const log = await api.request(
                    "GET",
                    `/api/v1/namespaces/${ns}/pods/${pod.metadata.name}/log?container=${container}`,
                );
                console.log(`--- ${container}:\n${log.body}`);
            }
        }
        const window = pod.status.containerStatuses.find((c: any) => c.name === "read-only-window");
        const report = JSON.parse(window.state.terminated.message);
        console.log(`${imageName}: garbage collection of a deleted 50 MB image (beside one sharing a 2 MB layer):`);
        console.log(
            `  ${pod.status.phase}: ${report.blobsDeleted} blobs, ${(report.bytesFreed / MB).toFixed(1)} MB freed; garbage-collect ${report.garbageCollectSeconds} s; read-only ${report.readOnlySeconds} s; the whole run ${wall.toFixed(1)} s`,
        );
        return { rollouts, garbageCollection: { ...report, runSeconds: wall } };
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
