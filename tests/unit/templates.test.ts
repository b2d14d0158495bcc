import { PlainSettingsArgs } from "../../components/settings";
import { renderGarbageCollectionCronJob } from "../../components/templates/garbageCollectionCronJob";
import { renderGarbageCollectionRole } from "../../components/templates/garbageCollectionRole";
import { renderGarbageCollectionRoleBinding } from "../../components/templates/garbageCollectionRoleBinding";
import { collectGarbageScript, readOnlyWindowScript } from "../../components/garbageCollection/scripts";
import { renderImagePullSecret } from "../../components/templates/imagePullSecret";
import { renderIngress } from "../../components/templates/ingress";
import { renderPersistentVolumeClaim } from "../../components/templates/persistentVolumeClaim";
import { renderRegistry as render } from "../support/renderedRegistry";

const rollingWithoutOutage = { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } };

describe("rendered Kubernetes objects", () => {
    test("two renders with the same inputs give byte-identical Secret and pod template", () => {
        const a = render();
        const b = render();
        expect(JSON.stringify(b.secret)).toBe(JSON.stringify(a.secret));
        expect(JSON.stringify(b.deployment.spec.template)).toBe(JSON.stringify(a.deployment.spec.template));
    });

    test("a password change changes the Secret and the pod template (so the pods roll)", () => {
        const a = render({}, "old-password");
        const b = render({}, "new-password");
        expect(b.secret.stringData.htpasswd).not.toBe(a.secret.stringData.htpasswd);
        expect(b.deployment.spec.template.metadata.annotations["checksum/secret-and-config"]).not.toBe(
            a.deployment.spec.template.metadata.annotations["checksum/secret-and-config"],
        );
    });

    test("the Secret holds a bcrypt htpasswd line and the HTTP secret", () => {
        const { secret } = render();
        expect(secret.metadata).toMatchObject({ name: "registry", namespace: "examples" });
        expect(secret.stringData.htpasswd).toMatch(/^admin:\$2y\$05\$[./A-Za-z0-9]{53}\n$/);
        expect(secret.stringData["http-secret"]).toBe("kept-http-secret-value");
    });

    test("the Deployment runs the registry safely: probes on /, non-root, read-only root, resources", () => {
        const { deployment } = render();
        const pod = deployment.spec.template.spec;
        const container = pod.containers[0];
        expect(container.image).toBe("registry:2.8.3");
        expect(container.readinessProbe.httpGet).toEqual({ path: "/", port: "http" });
        // Liveness is the port only: a storage outage (/ answers 503) takes the pod out of the Service, not restarts it.
        expect(container.livenessProbe.tcpSocket).toEqual({ port: "http" });
        expect(container.livenessProbe.httpGet).toBeUndefined();
        // Started is listening too, asked every second, so that Ready follows the start by about a second.
        expect(container.startupProbe).toMatchObject({ tcpSocket: { port: "http" }, periodSeconds: 1 });
        expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, fsGroup: 1000 });
        expect(container.securityContext).toMatchObject({
            readOnlyRootFilesystem: true,
            allowPrivilegeEscalation: false,
        });
        expect(container.resources.requests).toEqual({ cpu: "50m", memory: "64Mi" });
        expect(deployment.spec.replicas).toBe(1);
        expect(deployment.spec.selector.matchLabels).toEqual({
            "app.kubernetes.io/name": "registry",
            "app.kubernetes.io/instance": "registry",
        });
        // The API server refuses a Deployment whose selector does not match its pods' labels.
        expect(deployment.spec.template.metadata.labels).toEqual({
            "app.kubernetes.io/name": "registry",
            "app.kubernetes.io/instance": "registry",
            "app.kubernetes.io/managed-by": "pulumi",
            "app.kubernetes.io/part-of": "distribution-registry",
        });
    });

    test("the HTTP secret reaches the pods from the Secret, never as a literal, and v3's tracing is off", () => {
        const { deployment } = render();
        const env = deployment.spec.template.spec.containers[0].env;
        expect(env).toContainEqual({
            name: "REGISTRY_HTTP_SECRET",
            valueFrom: { secretKeyRef: { name: "registry", key: "http-secret" } },
        });
        expect(env).toContainEqual({ name: "OTEL_TRACES_EXPORTER", value: "none" });
        expect(JSON.stringify(deployment)).not.toContain("kept-http-secret-value");
    });

    test("the config is mounted where registry:2 and registry:3 each read it", () => {
        for (const image of ["registry:2.8.3", "registry:3.0.0"]) {
            const { deployment } = render({ image });
            const mounts = deployment.spec.template.spec.containers[0].volumeMounts
                .filter((m: any) => m.name === "config")
                .map((m: any) => m.mountPath);
            expect(mounts).toEqual(["/etc/docker/registry", "/etc/distribution"]);
        }
    });

    test("the config enables storage delete and htpasswd auth with the hostname as realm, at the paths the pod mounts", () => {
        const { configMap, deployment } = render({ hostname: "reg.example.com" });
        const config = JSON.parse(configMap.data["config.yml"]);
        expect(config.storage.delete.enabled).toBe(true);
        expect(config.auth.htpasswd).toEqual({ realm: "reg.example.com", path: "/auth/htpasswd" });
        expect(config.http.addr).toBe(":5000");
        const pod = deployment.spec.template.spec;
        const mountOf = (volume: string) =>
            pod.containers[0].volumeMounts.find((m: any) => m.name === volume).mountPath;
        // The Secret's htpasswd item lands where the config looks for it, and the data where storage writes.
        const auth = pod.volumes.find((v: any) => v.name === "auth").secret.items;
        expect(auth.map((i: any) => `${mountOf("auth")}/${i.path}`)).toEqual([config.auth.htpasswd.path]);
        expect(mountOf("data")).toBe(config.storage.filesystem.rootdirectory);
    });

    test("the Ingress lifts ingress-nginx's body limit and timeouts, keeps the host and TLS, and takes overrides", () => {
        const { ingress } = render({
            tls: { secretName: "tls" },
            ingress: { className: "nginx", annotations: { "nginx.ingress.kubernetes.io/proxy-read-timeout": "900" } },
        });
        expect(ingress.metadata.annotations["nginx.ingress.kubernetes.io/proxy-body-size"]).toBe("0");
        expect(ingress.metadata.annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]).toBe("900");
        expect(ingress.spec.ingressClassName).toBe("nginx");
        expect(ingress.spec.tls).toEqual([{ hosts: ["registry.test"], secretName: "tls" }]);
        expect(ingress.spec.rules[0].host).toBe("registry.test");
        expect(ingress.spec.rules[0].http.paths[0].backend.service).toEqual({
            name: "registry",
            port: { number: 5000 },
        });
    });

    test("by default the Ingress names no class and serves the generated certificate's Secret, by the name it was given", () => {
        const { ingress, settings } = render();
        expect(ingress.spec.ingressClassName).toBeUndefined();
        expect(settings.tls.mode).toBe("generated");
        expect((renderIngress(settings, "registry-tls-5f3c9a1e") as any).spec.tls).toEqual([
            { hosts: ["registry.test"], secretName: "registry-tls-5f3c9a1e" },
        ]);
        // ingress-nginx's body limit and timeouts only: nothing for Traefik unless asked.
        expect(Object.keys(ingress.metadata.annotations).sort()).toEqual([
            "nginx.ingress.kubernetes.io/proxy-body-size",
            "nginx.ingress.kubernetes.io/proxy-read-timeout",
            "nginx.ingress.kubernetes.io/proxy-request-buffering",
            "nginx.ingress.kubernetes.io/proxy-send-timeout",
        ]);
    });

    test("tls ingressDefault names no Secret: the controller serves its default certificate (self-signed on k3s), as in the seed", () => {
        expect(render({ tls: { mode: "ingressDefault" } }).ingress.spec.tls).toEqual([{ hosts: ["registry.test"] }]);
    });

    test("skipAwait marks the Deployment and the Ingress", () => {
        const { deployment, ingress } = render({ skipAwait: true });
        expect(deployment.metadata.annotations["pulumi.com/skipAwait"]).toBe("true");
        expect(ingress.metadata.annotations["pulumi.com/skipAwait"]).toBe("true");
    });

    test("the Service selects the pods on port 5000", () => {
        const { service, deployment } = render();
        expect(service.spec.selector).toEqual(deployment.spec.selector.matchLabels);
        expect(service.spec.ports[0]).toMatchObject({ port: 5000, targetPort: "http" });
        // Not awaited: the provider's Service await waits 10 s after the last Endpoints change, on every first up.
        expect(service.metadata.annotations).toEqual({ "pulumi.com/skipAwait": "true" });
    });

    test("a PVC is mounted and rolled without an outage; an existing claim is used by name", () => {
        const created = render({ storage: { type: "persistentVolumeClaim", size: "20Gi", storageClassName: "fast" } });
        const claim = renderPersistentVolumeClaim(created.settings) as any;
        expect(claim.spec).toEqual({
            accessModes: ["ReadWriteOnce"],
            resources: { requests: { storage: "20Gi" } },
            storageClassName: "fast",
        });
        expect(created.deployment.spec.strategy).toEqual(rollingWithoutOutage);
        expect(created.deployment.spec.template.spec.volumes[0]).toEqual({
            name: "data",
            persistentVolumeClaim: { claimName: "registry-data" },
        });
        const existing = render({ storage: { existingClaim: "shared", accessMode: "ReadWriteMany" }, replicas: 3 });
        expect(existing.deployment.spec.template.spec.volumes[0]).toEqual({
            name: "data",
            persistentVolumeClaim: { claimName: "shared" },
        });
        expect(existing.deployment.spec.strategy).toEqual(rollingWithoutOutage);
        // ReadWriteMany: the pods may spread; no affinity holds them together.
        expect(existing.deployment.spec.template.spec.affinity).toBeUndefined();
        expect(existing.deployment.spec.replicas).toBe(3);
    });

    test("a claim of the default class is the default storage; emptyDir only when asked", () => {
        const byDefault = render();
        expect(byDefault.settings.storage).toMatchObject({
            type: "persistentVolumeClaim",
            size: "10Gi",
            accessMode: "ReadWriteOnce",
        });
        expect(byDefault.deployment.spec.template.spec.volumes[0]).toEqual({
            name: "data",
            persistentVolumeClaim: { claimName: "registry-data" },
        });
        expect(byDefault.deployment.spec.strategy).toEqual(rollingWithoutOutage);
        expect((renderPersistentVolumeClaim(byDefault.settings) as any).spec.storageClassName).toBeUndefined();
        expect(render({ storage: { type: "emptyDir" } }).deployment.spec.template.spec.volumes[0]).toEqual({
            name: "data",
            emptyDir: {},
        });
    });

    test("ReadWriteOnce keeps the pods on the volume's node; ReadWriteOncePod stops the old pod first; emptyDir rolls freely", () => {
        const once = render().deployment.spec.template.spec;
        expect(once.affinity).toEqual({
            podAffinity: {
                requiredDuringSchedulingIgnoredDuringExecution: [
                    {
                        labelSelector: {
                            matchLabels: {
                                "app.kubernetes.io/name": "registry",
                                "app.kubernetes.io/instance": "registry",
                            },
                        },
                        topologyKey: "kubernetes.io/hostname",
                    },
                ],
            },
        });
        const oncePod = render({ storage: { accessMode: "ReadWriteOncePod" } }).deployment.spec;
        expect(oncePod.strategy).toEqual({ type: "Recreate" });
        expect(oncePod.template.spec.affinity).toBeUndefined();
        const emptyDir = render({ storage: { type: "emptyDir" } }).deployment.spec;
        expect(emptyDir.strategy).toEqual(rollingWithoutOutage);
        expect(emptyDir.template.spec.affinity).toBeUndefined();
    });

    test("a stopping pod keeps serving while the ingress forgets it, then drains what is in flight", () => {
        const { deployment, configMap } = render();
        const pod = deployment.spec.template.spec;
        const config = JSON.parse(configMap.data["config.yml"]);
        expect(pod.containers[0].lifecycle).toEqual({ preStop: { sleep: { seconds: 5 } } });
        expect(config.http.draintimeout).toBe("50s");
        // The grace period covers the delay and the drain, so the kubelet's SIGKILL never cuts the drain short.
        expect(pod.terminationGracePeriodSeconds).toBe(60);
    });

    test("the image-pull Secret holds a dockerconfigjson for the registry as image references name it", () => {
        const { settings } = render();
        const secret = renderImagePullSecret(settings, "apps", "registry.test:8443", "admin", 'p:w"d') as any;
        expect(secret.type).toBe("kubernetes.io/dockerconfigjson");
        expect(secret.metadata).toMatchObject({ name: "registry-pull", namespace: "apps" });
        const config = JSON.parse(secret.stringData[".dockerconfigjson"]);
        expect(config).toEqual({
            auths: {
                "registry.test:8443": {
                    username: "admin",
                    password: 'p:w"d',
                    auth: Buffer.from('admin:p:w"d').toString("base64"),
                },
            },
        });
    });

    test("the Secret carries the pull account as a Basic authorization, for the garbage-collection job's probe", () => {
        const { secret } = render();
        expect(Buffer.from(secret.stringData["pull-auth"], "base64").toString()).toBe("registry-pull:pull-pass");
    });

    describe("garbage collection", () => {
        const cronJob = (args: PlainSettingsArgs = {}) => renderGarbageCollectionCronJob(render(args).settings) as any;
        const podOf = (c: any) => c.spec.jobTemplate.spec.template;

        test("a CronJob on the weekly default schedule, one run at a time, a failed run not repeated", () => {
            const c = cronJob();
            expect(c.metadata).toMatchObject({ name: "registry-gc", namespace: "examples" });
            expect(c.spec).toMatchObject({ schedule: "0 3 * * 0", suspend: false, concurrencyPolicy: "Forbid" });
            expect(c.spec.jobTemplate.spec).toMatchObject({ backoffLimit: 0, activeDeadlineSeconds: 7200 });
            expect(podOf(c).spec.restartPolicy).toBe("Never");
            expect(podOf(c).spec.serviceAccountName).toBe("registry-gc");
        });

        test('"none" suspends it: it runs only as a Job made from it; another schedule is taken as given', () => {
            expect(cronJob({ garbageCollection: { schedule: "none" } }).spec).toMatchObject({
                schedule: "0 3 * * 0",
                suspend: true,
            });
            expect(cronJob({ garbageCollection: { schedule: "*/5 * * * *" } }).spec).toMatchObject({
                schedule: "*/5 * * * *",
                suspend: false,
            });
        });

        test("its pod: kubectl switches the registry, the registry's own image collects with the pods' storage, config and secrets", () => {
            const { settings, deployment } = render();
            const pod = podOf(renderGarbageCollectionCronJob(settings) as any).spec;
            const registryPod = deployment.spec.template.spec;
            expect(pod.containers.map((c: any) => `${c.name} ${c.image}`)).toEqual([
                "read-only-window registry.k8s.io/kubectl:v1.37.2",
                "garbage-collect registry:2.8.3",
            ]);
            const [window, collect] = pod.containers;
            expect(window.command).toEqual(["/bin/sh", "-c", readOnlyWindowScript]);
            expect(collect.command).toEqual(["/bin/sh", "-c", collectGarbageScript]);
            // The same volumes as the registry's pods (the claim, the config, the htpasswd), and the shared /work.
            expect(pod.volumes).toEqual([...registryPod.volumes, { name: "work", emptyDir: {} }]);
            expect(collect.volumeMounts).toEqual([
                ...registryPod.containers[0].volumeMounts,
                { name: "work", mountPath: "/work" },
            ]);
            expect(pod.securityContext).toEqual(registryPod.securityContext);
            // On a ReadWriteOnce claim, where the registry's pods have the volume.
            expect(pod.affinity).toEqual(registryPod.affinity);
            const env = (c: any) => Object.fromEntries(c.env.map((e: any) => [e.name, e.value ?? e.valueFrom]));
            expect(env(window)).toEqual({
                DR_DEPLOYMENT: "registry",
                DR_CONTAINER: "registry",
                DR_SELECTOR: "app.kubernetes.io/name=registry,app.kubernetes.io/instance=registry",
                DR_TIMEOUT_SECONDS: "600",
                JOB_NAME: { fieldRef: { fieldPath: "metadata.labels['job-name']" } },
                POD_NAME: { fieldRef: { fieldPath: "metadata.name" } },
                HOME: "/tmp",
            });
            expect(env(collect)).toEqual({
                ...env(registryPod.containers[0]),
                DR_CONFIG: "/etc/docker/registry/config.yml",
                DR_DATA_DIR: "/var/lib/registry",
                DR_PORT: "5000",
                // From the Secret, never a literal: the pull account's password must not be in the CronJob.
                DR_PROBE_AUTH: { secretKeyRef: { name: "registry", key: "pull-auth" } },
            });
            const withUntagged = podOf(
                renderGarbageCollectionCronJob(
                    render({ image: "registry:3.0.0", garbageCollection: { deleteUntagged: true } }).settings,
                ) as any,
            ).spec.containers[1];
            expect(env(withUntagged).DR_DELETE_UNTAGGED).toBe("true");
            // With a Redis cache: where to empty it after collecting (its password comes as the registry's does).
            const withRedis = podOf(
                renderGarbageCollectionCronJob(
                    render({ image: "registry:3.0.0", redis: { address: "10.96.0.30:6379", db: 2 } }).settings,
                ) as any,
            ).spec.containers[1];
            expect({ address: env(withRedis).DR_REDIS_ADDRESS, db: env(withRedis).DR_REDIS_DB }).toEqual({
                address: "10.96.0.30:6379",
                db: "2",
            });
            expect(env(collect).DR_REDIS_ADDRESS).toBeUndefined();
        });

        test("its pod is not one of the registry's: the Service and the rollout waits do not select it", () => {
            const { settings, service } = render();
            const labels = podOf(renderGarbageCollectionCronJob(settings) as any).metadata.labels;
            const selected = Object.entries(service.spec.selector).every(([k, v]) => labels[k] === v);
            expect(selected).toBe(false);
            expect(labels["app.kubernetes.io/name"]).toBe("registry-garbage-collection");
        });

        test("its Role changes the registry's Deployment only, and reads pods and jobs; its binding names its account", () => {
            const { settings } = render();
            expect((renderGarbageCollectionRole(settings) as any).rules).toEqual([
                {
                    apiGroups: ["apps"],
                    resources: ["deployments"],
                    resourceNames: ["registry"],
                    verbs: ["get", "list", "watch", "patch"],
                },
                { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] },
                { apiGroups: ["batch"], resources: ["jobs"], verbs: ["get"] },
            ]);
            const binding = renderGarbageCollectionRoleBinding(settings) as any;
            expect(binding.roleRef).toEqual({
                apiGroup: "rbac.authorization.k8s.io",
                kind: "Role",
                name: "registry-gc",
            });
            expect(binding.subjects).toEqual([{ kind: "ServiceAccount", name: "registry-gc", namespace: "examples" }]);
        });
    });
});
