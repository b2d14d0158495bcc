import { asYamlString } from "../../components/registryConfig";
import { PlainSettingsArgs, settingsFromArgs } from "../../components/settings";
import { InputError } from "../../components/validation";
import { renderPodDisruptionBudget } from "../../components/templates/podDisruptionBudget";
import { podChecksum } from "../../components/templates/registryPod";
import { renderService } from "../../components/templates/service";
import { renderServiceMonitor } from "../../components/templates/serviceMonitor";
import { renderRegistry as render } from "../support/renderedRegistry";

/*
 * S3 storage, several replicas, the Redis cache and the metrics, as rendered: the config each major version reads,
 * the pod's environment (keys only through secretKeyRef), the Service, the PodDisruptionBudget and the ServiceMonitor,
 * and the inputs refused. The integration tests run these configs on the real binaries (tests/integration).
 */

const bucket = { type: "s3" as const, s3: { bucket: "images", regionEndpoint: "http://10.96.0.20:8333" } };
const redis = { address: "10.96.0.30:6379", passwordSecret: { name: "redis-auth" } };

const envOf = (deployment: any) => deployment.spec.template.spec.containers[0].env;

describe("storage type s3", () => {
    test.each([
        ["registry:2.8.3", 2],
        ["registry:3.1.2", 3],
    ])("%s: the bucket's block as both versions read it, redirects off, weekly upload purging, no key in it", image => {
        const { config, configText } = render({
            image,
            storage: { ...bucket, s3: { ...bucket.s3, rootDirectory: "/registry" } },
        });
        // The same block for both: 2.8's driver ignores forcepathstyle (and uses the path with an endpoint anyway).
        expect(config.storage).toEqual({
            s3: {
                region: "us-east-1",
                bucket: "images",
                regionendpoint: "http://10.96.0.20:8333",
                forcepathstyle: true,
                rootdirectory: "/registry",
            },
            delete: { enabled: true },
            cache: { blobdescriptor: "inmemory" },
            redirect: { disable: true },
            maintenance: { uploadpurging: { enabled: true, age: "168h", interval: "168h", dryrun: false } },
        });
        expect(configText).not.toMatch(/accesskey|secretkey|password/i);
    });

    test("redirects on, virtual-hosted addressing and skipverify when asked; AWS needs no endpoint", () => {
        const { config } = render({
            storage: {
                type: "s3",
                s3: {
                    bucket: "images",
                    region: "eu-west-1",
                    forcePathStyle: false,
                    disableRedirect: false,
                    skipVerify: true,
                },
            },
        });
        expect(config.storage.s3).toEqual({
            region: "eu-west-1",
            bucket: "images",
            forcepathstyle: false,
            skipverify: true,
        });
        expect(config.storage).not.toHaveProperty("redirect");
    });

    test("keys given as inputs: in the registry's Secret, quoted for the registry's YAML reading, read by secretKeyRef", () => {
        const { deployment, secret } = render({
            storage: { ...bucket, s3: { ...bucket.s3, accessKey: "AKIA0123", secretKey: "0123: true" } },
        });
        expect(secret.stringData).toMatchObject({ "s3-access-key": '"AKIA0123"', "s3-secret-key": '"0123: true"' });
        expect(envOf(deployment).filter((e: any) => e.name.startsWith("REGISTRY_STORAGE_S3_"))).toEqual([
            {
                name: "REGISTRY_STORAGE_S3_ACCESSKEY",
                valueFrom: { secretKeyRef: { name: "registry", key: "s3-access-key" } },
            },
            {
                name: "REGISTRY_STORAGE_S3_SECRETKEY",
                valueFrom: { secretKeyRef: { name: "registry", key: "s3-secret-key" } },
            },
        ]);
        expect(JSON.stringify(deployment)).not.toContain("0123");
    });

    test("keys from the user's Secret, by the keys named; none at all leaves the SDK's chain (an IAM role)", () => {
        const fromSecret = render({
            storage: { ...bucket, s3: { ...bucket.s3, credentialsSecret: { name: "s3-keys", secretKeyKey: "sk" } } },
        });
        expect(envOf(fromSecret.deployment).filter((e: any) => e.name.startsWith("REGISTRY_STORAGE_S3_"))).toEqual([
            {
                name: "REGISTRY_STORAGE_S3_ACCESSKEY",
                valueFrom: { secretKeyRef: { name: "s3-keys", key: "accessKey" } },
            },
            { name: "REGISTRY_STORAGE_S3_SECRETKEY", valueFrom: { secretKeyRef: { name: "s3-keys", key: "sk" } } },
        ]);
        expect(Object.keys(fromSecret.secret.stringData).sort()).toEqual(["htpasswd", "http-secret", "pull-auth"]);
        const iam = render({ storage: bucket });
        expect(envOf(iam.deployment).map((e: any) => e.name)).toEqual(["REGISTRY_HTTP_SECRET", "OTEL_TRACES_EXPORTER"]);
    });

    test("a YAML-quoted value reads back as itself, whatever it holds", () => {
        for (const value of ["0123", "true", "a: b", "#c", '"q"', "*alias", "- item", "p\\w", "é\u0001"]) {
            expect(JSON.parse(asYamlString(value))).toBe(value);
            expect(asYamlString(value)).toMatch(/^".*"$/s);
        }
    });

    test("the filesystem's config is as before: no redirect, purging, Redis or debug keys", () => {
        const { config } = render({});
        expect(Object.keys(config.storage)).toEqual(["filesystem", "delete", "cache"]);
        expect(Object.keys(config.http)).toEqual(["addr", "draintimeout", "headers"]);
        expect(config).not.toHaveProperty("redis");
    });
});

describe("several replicas", () => {
    test("on S3: rolling without an outage, spread over the nodes as a preference, no affinity holding them together", () => {
        const pod = render({ storage: bucket, replicas: 2 }).deployment;
        expect(pod.spec.replicas).toBe(2);
        expect(pod.spec.strategy).toEqual({ type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
        expect(pod.spec.template.spec.affinity).toBeUndefined();
        expect(pod.spec.template.spec.topologySpreadConstraints).toEqual([
            {
                maxSkew: 1,
                topologyKey: "kubernetes.io/hostname",
                whenUnsatisfiable: "ScheduleAnyway",
                labelSelector: {
                    matchLabels: { "app.kubernetes.io/name": "registry", "app.kubernetes.io/instance": "registry" },
                },
            },
        ]);
    });

    test("a ReadWriteMany claim spreads too; one replica, or a ReadWriteOnce claim, does not", () => {
        const rwx = render({ replicas: 3, storage: { type: "persistentVolumeClaim", accessMode: "ReadWriteMany" } });
        expect(rwx.deployment.spec.template.spec.topologySpreadConstraints).toHaveLength(1);
        expect(render({ storage: bucket }).deployment.spec.template.spec.topologySpreadConstraints).toBeUndefined();
        expect(render({}).deployment.spec.template.spec.topologySpreadConstraints).toBeUndefined();
    });

    test("the PodDisruptionBudget lets a drain stop one registry pod at a time", () => {
        const s = settingsFromArgs("registry", { storage: bucket, replicas: 2, namespace: "tools" });
        expect(renderPodDisruptionBudget(s)).toEqual({
            apiVersion: "policy/v1",
            kind: "PodDisruptionBudget",
            metadata: {
                name: "registry",
                namespace: "tools",
                labels: {
                    "app.kubernetes.io/name": "registry",
                    "app.kubernetes.io/instance": "registry",
                    "app.kubernetes.io/managed-by": "pulumi",
                    "app.kubernetes.io/part-of": "distribution-registry",
                },
            },
            spec: {
                maxUnavailable: 1,
                selector: {
                    matchLabels: { "app.kubernetes.io/name": "registry", "app.kubernetes.io/instance": "registry" },
                },
            },
        });
    });
});

describe("the Redis cache", () => {
    test("2.x reads addr and pool; 3.x go-redis's options inline (addrs, poolsize); both cache descriptors in it", () => {
        const two = render({ image: "registry:2.8.3", storage: bucket, redis: { ...redis, db: 2 } }).config;
        expect(two.storage.cache).toEqual({ blobdescriptor: "redis" });
        expect(two.redis).toEqual({
            addr: "10.96.0.30:6379",
            db: 2,
            dialtimeout: "5s",
            readtimeout: "2s",
            writetimeout: "2s",
            pool: { maxidle: 16, maxactive: 64, idletimeout: "300s" },
        });
        const three = render({ image: "registry:3.1.2", storage: bucket, redis: { ...redis, db: 2 } }).config;
        expect(three.storage.cache).toEqual({ blobdescriptor: "redis" });
        expect(three.redis).toEqual({
            addrs: ["10.96.0.30:6379"],
            db: 2,
            dialtimeout: "5s",
            readtimeout: "2s",
            writetimeout: "2s",
            poolsize: 64,
            maxidleconns: 16,
            connmaxidletime: "300s",
        });
    });

    test("an image whose tag does not tell takes imageMajorVersion; without it the error names imageMajorVersion", () => {
        const told = render({ image: "registry@sha256:" + "a".repeat(64), imageMajorVersion: 3, redis }).config;
        expect(told.redis.addrs).toEqual(["10.96.0.30:6379"]);
        expect(() => settingsFromArgs("r", { image: "registry:latest", redis })).toThrow(
            /^imageMajorVersion: is needed with redis: the image "registry:latest" does not tell its major version.*\. Give 2/,
        );
    });

    test("the password: from the registry's Secret (given as an input) or the user's, by secretKeyRef; none without one", () => {
        const input = render({ redis: { address: redis.address, password: "p: w" } });
        expect(envOf(input.deployment)).toContainEqual({
            name: "REGISTRY_REDIS_PASSWORD",
            valueFrom: { secretKeyRef: { name: "registry", key: "redis-password" } },
        });
        expect(input.secret.stringData["redis-password"]).toBe('"p: w"');
        expect(JSON.stringify(input.deployment) + input.configText).not.toContain("p: w");
        const user = render({ redis: { ...redis, passwordSecret: { name: "redis-auth", key: "pw" } } });
        expect(envOf(user.deployment)).toContainEqual({
            name: "REGISTRY_REDIS_PASSWORD",
            valueFrom: { secretKeyRef: { name: "redis-auth", key: "pw" } },
        });
        const none = render({ redis: { address: redis.address } });
        expect(envOf(none.deployment).map((e: any) => e.name)).toEqual([
            "REGISTRY_HTTP_SECRET",
            "OTEL_TRACES_EXPORTER",
        ]);
    });

    test("a new secret input rolls the pods (the checksum covers it)", () => {
        const a = render({ redis: { address: redis.address, password: "one" } });
        const b = render({ redis: { address: redis.address, password: "two" } });
        const checksum = (r: ReturnType<typeof render>) =>
            r.deployment.spec.template.metadata.annotations["checksum/secret-and-config"];
        expect(checksum(a)).not.toBe(checksum(b));
        // No secret input: the checksum of before this change, so an upgrade rolls nothing.
        expect(podChecksum("c", "h", "x", [])).toBe(podChecksum("c", "h", "x"));
    });
});

describe("metrics", () => {
    test("the debug server with Prometheus on its port, a Service port named metrics, scrape annotations", () => {
        const { config, deployment, service, ingress } = render({ metrics: { enabled: true } });
        expect(config.http.debug).toEqual({ addr: ":5001", prometheus: { enabled: true, path: "/metrics" } });
        expect(deployment.spec.template.spec.containers[0].ports).toEqual([
            { name: "http", containerPort: 5000, protocol: "TCP" },
            { name: "metrics", containerPort: 5001, protocol: "TCP" },
        ]);
        expect(deployment.spec.template.metadata.annotations).toMatchObject({
            "prometheus.io/scrape": "true",
            "prometheus.io/port": "5001",
            "prometheus.io/path": "/metrics",
        });
        expect(service.spec.ports).toEqual([
            { name: "http", port: 5000, targetPort: "http", protocol: "TCP" },
            { name: "metrics", port: 5001, targetPort: "metrics", protocol: "TCP" },
        ]);
        // The Ingress names the registry's port only: the metrics port is never routed from outside.
        expect(ingress.spec.rules[0].http.paths.map((p: any) => p.backend.service.port)).toEqual([{ number: 5000 }]);
    });

    test("off by default: no debug server, no port, no annotation", () => {
        const { config, deployment, service } = render({});
        expect(config.http).not.toHaveProperty("debug");
        expect(service.spec.ports.map((p: any) => p.name)).toEqual(["http"]);
        expect(Object.keys(deployment.spec.template.metadata.annotations)).toEqual(["checksum/secret-and-config"]);
    });

    test("the ServiceMonitor selects the registry's Service and scrapes its metrics port", () => {
        const s = settingsFromArgs("registry", { metrics: { enabled: true, port: 9100, serviceMonitor: true } });
        const monitor = renderServiceMonitor(s);
        expect(monitor.apiVersion).toBe("monitoring.coreos.com/v1");
        expect(monitor.spec).toEqual({
            selector: {
                matchLabels: { "app.kubernetes.io/name": "registry", "app.kubernetes.io/instance": "registry" },
            },
            namespaceSelector: { matchNames: ["examples"] },
            endpoints: [{ port: "metrics", path: "/metrics", interval: "30s" }],
        });
        expect(monitor.spec.selector.matchLabels).toEqual(
            Object.fromEntries(
                Object.entries((renderService(s) as any).metadata.labels).filter(
                    ([k]) => k in monitor.spec.selector.matchLabels,
                ),
            ),
        );
    });
});

describe("bad inputs are named", () => {
    const s3 = (more: object) => ({ storage: { type: "s3" as const, s3: { bucket: "images", ...more } } });
    const bad: [string, PlainSettingsArgs, RegExp][] = [
        ["no bucket", { storage: { type: "s3" } }, /^storage\.s3\.bucket: is needed for storage type "s3"\. Give/],
        ["a bucket URL", s3({ bucket: "s3://images" }), /^storage\.s3\.bucket: "s3:\/\/images" is not a bucket name/],
        [
            "a bucket with a path",
            s3({ bucket: "images/registry" }),
            /^storage\.s3\.bucket: .* storage\.s3\.rootDirectory takes a prefix/,
        ],
        [
            "a bucket on a claim",
            { storage: { s3: { bucket: "images" } } },
            /^storage\.s3\.bucket: is set while storage\.type is "persistentVolumeClaim"\. Set storage\.type "s3"/,
        ],
        [
            "keys on a claim",
            { storage: { s3: { accessKey: "a", secretKey: "b" } } },
            /^storage\.s3\.accessKey: is set while storage\.type/,
        ],
        [
            "an endpoint without scheme",
            s3({ regionEndpoint: "seaweedfs:8333" }),
            /^storage\.s3\.regionEndpoint: "seaweedfs:8333" is not the URL of an S3 server\. Give its scheme/,
        ],
        [
            "an endpoint with keys in it",
            s3({ regionEndpoint: "http://ak:sk@10.0.0.1:8333" }),
            /^storage\.s3\.regionEndpoint:/,
        ],
        [
            "an endpoint with a path",
            s3({ regionEndpoint: "http://10.0.0.1:8333/images" }),
            /^storage\.s3\.regionEndpoint:/,
        ],
        ["a region with spaces", s3({ region: "US East" }), /^storage\.s3\.region: "US East" is not a region name/],
        [
            "a root with ..",
            s3({ rootDirectory: "/a/../b" }),
            /^storage\.s3\.rootDirectory: "\/a\/\.\.\/b" is not a path inside the bucket/,
        ],
        [
            "one key only",
            s3({ accessKey: "AKIA" }),
            /^storage\.s3\.secretKey: is needed with the other key\. Give both S3 keys, or neither/,
        ],
        [
            "keys and a Secret",
            s3({ accessKey: "a", secretKey: "b", credentialsSecret: { name: "keys" } }),
            /^storage\.s3\.credentialsSecret\.name: is set while storage\.s3\.accessKey and storage\.s3\.secretKey are given\. Give the keys one way/,
        ],
        [
            "a bad Secret name",
            s3({ credentialsSecret: { name: "S3 Keys" } }),
            /^storage\.s3\.credentialsSecret\.name: "S3 Keys" is not a Kubernetes object name/,
        ],
        [
            "a bad Secret key",
            s3({ credentialsSecret: { name: "keys", accessKeyKey: "access key" } }),
            /^storage\.s3\.credentialsSecret\.accessKeyKey: "access key" is not a key of a Secret/,
        ],
        [
            "an existing claim with s3",
            { storage: { type: "s3", existingClaim: "data" } },
            /^storage\.existingClaim: is set while storage\.type is "s3"/,
        ],
        [
            "two replicas on emptyDir",
            { replicas: 2, storage: { type: "emptyDir" } },
            /^replicas: 2 replicas need storage .*storage type "s3"/,
        ],
        ["a Redis without port", { redis: { address: "redis" } }, /^redis\.address: "redis" is not host:port\. Give/],
        ["a Redis URL", { redis: { address: "redis://redis:6379" } }, /^redis\.address:/],
        [
            "a password without Redis",
            { redis: { password: "pw" } },
            /^redis\.password: is set without redis\.address\. Give the Redis's address/,
        ],
        [
            "a password Secret without Redis",
            { redis: { passwordSecret: { name: "r" } } },
            /^redis\.passwordSecret\.name: is set without redis\.address/,
        ],
        [
            "a password two ways",
            { redis: { ...redis, password: "pw" } },
            /^redis\.passwordSecret\.name: is set while redis\.password is given\. Give the password one way/,
        ],
        ["a negative db", { redis: { address: redis.address, db: -1 } }, /^redis\.db: -1 is not a database number/],
        [
            "metrics on the registry's port",
            { metrics: { enabled: true, port: 5000 } },
            /^metrics\.port: 5000 is the registry's own port/,
        ],
        [
            "a ServiceMonitor without metrics",
            { metrics: { serviceMonitor: true } },
            /^metrics\.serviceMonitor: is set while metrics\.enabled is false\. Set metrics\.enabled true/,
        ],
    ];
    test.each(bad)("%s", (_name, args, message) => {
        expect(() => settingsFromArgs("r", args)).toThrow(InputError);
        expect(() => settingsFromArgs("r", args)).toThrow(message);
    });

    test("good ones pass: IPv6 and DNS Redis addresses, an https endpoint, a root without its slash", () => {
        for (const address of ["[2001:db8::1]:6379", "redis.cache.svc.cluster.local:6379", "10.96.0.30:6380"]) {
            expect(settingsFromArgs("r", { redis: { address } }).redis?.address).toBe(address);
        }
        const s = settingsFromArgs(
            "r",
            s3({ regionEndpoint: "https://s3.example.com/", rootDirectory: "registry/v2" }),
        );
        expect(s.storage.s3).toMatchObject({ regionEndpoint: "https://s3.example.com/", rootDirectory: "registry/v2" });
    });
});
