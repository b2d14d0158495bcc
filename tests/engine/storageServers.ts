import * as crypto from "crypto";
import { S3Credentials, listKeys, s3Request } from "../support/s3Api";
import { RedisReply, redisCommand } from "../support/redisServer";
import { KubernetesApi } from "./kubernetesApi";
import { imageReference, readyPod, waitFor } from "./realNode";

/*
 * An S3 server (SeaweedFS's `weed mini`) and a Redis (Debian's redis-server) running as pods in the real node's
 * cluster, from the images of images/build-images.sh: the shared storage and cache of several registry replicas, as a
 * user's cluster would have them. Every listener binds inside its pod's network namespace. The registry reaches them
 * by their ClusterIPs (there is no CoreDNS); the host reaches their pods on the cni0 bridge, to make the bucket and
 * to read what the registry wrote.
 */

interface StorageKeys {
    accessKey: string;
    secretKey: string;
    redisPassword: string;
}

export interface StorageServers extends StorageKeys {
    bucket: string;
    /** What the registry is given: http://<ClusterIP>:8333 and <ClusterIP>:6379. */
    s3Endpoint: string;
    redisAddress: string;
    /** Keys in the bucket under a prefix. */
    keys(prefix: string): Promise<string[]>;
    /** One command to the Redis pod, in database `db`. */
    redis(db: number, ...args: string[]): Promise<RedisReply>;
    /** Seconds from the objects' creation to the bucket made. */
    seconds: number;
}

/** SeaweedFS and Redis in their own namespace, as a user's cluster would have them; bound inside their pods only. */
function storageObjects(ns: string, keys: StorageKeys): [string, unknown][] {
    const { accessKey, secretKey, redisPassword } = keys;
    const labels = (app: string) => ({ "app.kubernetes.io/name": app });
    const podSecurity = { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000 };
    const deployment = (app: string, image: string, args: string[], port: number, configMount: string) => ({
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: app, namespace: ns, labels: labels(app) },
        spec: {
            replicas: 1,
            selector: { matchLabels: labels(app) },
            template: {
                metadata: { labels: labels(app) },
                spec: {
                    securityContext: podSecurity,
                    terminationGracePeriodSeconds: 5,
                    containers: [
                        {
                            name: app,
                            image,
                            imagePullPolicy: "IfNotPresent",
                            args,
                            ports: [{ name: "service", containerPort: port }],
                            readinessProbe: { tcpSocket: { port }, periodSeconds: 2 },
                            volumeMounts: [
                                { name: "config", mountPath: configMount, readOnly: true },
                                { name: "data", mountPath: "/data" },
                                { name: "tmp", mountPath: "/tmp" },
                            ],
                        },
                    ],
                    volumes: [
                        { name: "config", secret: { secretName: `${app}-config` } },
                        { name: "data", emptyDir: {} },
                        { name: "tmp", emptyDir: {} },
                    ],
                },
            },
        },
    });
    const service = (app: string, port: number) => ({
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: app, namespace: ns },
        spec: { selector: labels(app), ports: [{ name: "service", port, targetPort: port }] },
    });
    const secret = (name: string, data: Record<string, string>) => ({
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name, namespace: ns },
        stringData: data,
    });
    const identities = {
        identities: [
            {
                name: "registry",
                credentials: [{ accessKey, secretKey }],
                actions: ["Admin", "Read", "Write", "List", "Tagging"],
            },
        ],
    };
    const weedArgs = [
        "-logdir=/tmp",
        "mini",
        "-dir=/data",
        // The services find each other on the pod's loopback; every listener binds inside the pod's network namespace.
        "-ip=127.0.0.1",
        "-ip.bind=0.0.0.0",
        "-s3.port=8333",
        "-admin.ui=false",
        "-admin.port.legacy=0",
        "-webdav=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-master.telemetry=false",
        "-s3.config=/etc/seaweedfs/s3.json",
    ];
    const redisConf = [
        "bind 0.0.0.0",
        "port 6379",
        `requirepass "${redisPassword}"`,
        "maxmemory 64mb",
        // The registry sets no expiry on its keys: without eviction a full Redis refuses writes (docs/storage.md).
        "maxmemory-policy allkeys-lru",
        'save ""',
        "appendonly no",
        "dir /data",
        'logfile ""',
        "databases 16",
    ].join("\n");
    return [
        ["/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } }],
        [`/api/v1/namespaces/${ns}/secrets`, secret("seaweedfs-config", { "s3.json": JSON.stringify(identities) })],
        [`/api/v1/namespaces/${ns}/secrets`, secret("redis-config", { "redis.conf": `${redisConf}\n` })],
        [
            `/apis/apps/v1/namespaces/${ns}/deployments`,
            deployment("seaweedfs", imageReference("seaweedfs"), weedArgs, 8333, "/etc/seaweedfs"),
        ],
        [
            `/apis/apps/v1/namespaces/${ns}/deployments`,
            deployment("redis", imageReference("redis"), ["/etc/redis/redis.conf"], 6379, "/etc/redis"),
        ],
        [`/api/v1/namespaces/${ns}/services`, service("seaweedfs", 8333)],
        [`/api/v1/namespaces/${ns}/services`, service("redis", 6379)],
    ];
}

/**
 * Creates the servers in their namespace, with random keys and password, waits until both pods are Ready, and makes
 * the bucket through the S3 API (the registry does not make it).
 */
export async function startStorageServers(api: KubernetesApi, options: { bucket: string }): Promise<StorageServers> {
    const namespace = "e2e-storage";
    const keys: StorageKeys = {
        accessKey: `E2E${crypto.randomBytes(8).toString("hex").toUpperCase()}`,
        secretKey: crypto.randomBytes(24).toString("base64url"),
        // Letters and digits: it also goes, unquoted, into a user's Secret, which the registry reads as YAML.
        redisPassword: `r${crypto.randomBytes(18).toString("hex")}`,
    };
    const started = process.hrtime.bigint();
    for (const [collection, object] of storageObjects(namespace, keys)) {
        await api.create(collection, object);
    }
    const readyServer = (app: string) =>
        waitFor(`the ${app} pod to be Ready`, 120, () => readyPod(api, namespace, `app.kubernetes.io/name=${app}`));
    const [s3Pod, redisPod] = [await readyServer("seaweedfs"), await readyServer("redis")];
    const clusterIP = async (name: string) =>
        (await api.request("GET", `/api/v1/namespaces/${namespace}/services/${name}`)).body.spec.clusterIP as string;
    const region = "us-east-1";
    const s3AtPod: S3Credentials = {
        endpoint: `http://${s3Pod.status.podIP}:8333`,
        region,
        accessKey: keys.accessKey,
        secretKey: keys.secretKey,
    };
    // weed answers once its master, volume server and filer run.
    await waitFor("the bucket to be made", 90, async () =>
        (await s3Request(s3AtPod, { method: "PUT", path: `/${options.bucket}` })).status === 200 ? true : undefined,
    );
    return {
        ...keys,
        bucket: options.bucket,
        s3Endpoint: `http://${await clusterIP("seaweedfs")}:8333`,
        redisAddress: `${await clusterIP("redis")}:6379`,
        keys: prefix => listKeys(s3AtPod, options.bucket, prefix),
        redis: (db, ...args) => redisCommand(6379, keys.redisPassword, args, db, redisPod.status.podIP),
        seconds: Number(process.hrtime.bigint() - started) / 1e9,
    };
}
