import { RegistrySettings } from "./settings";

/**
 * registry:2 reads /etc/docker/registry/config.yml and registry:3 reads /etc/distribution/config.yml,
 * each ignoring the other's path silently. Mounting the same file at both makes any 2.x or 3.x tag
 * work without guessing the version from a tag that may be a digest.
 */
export const configDirectories = ["/etc/docker/registry", "/etc/distribution"];
export const configFileName = "config.yml";
export const htpasswdDirectory = "/auth";
export const htpasswdKey = "htpasswd";
export const httpSecretKey = "http-secret";
/** Keys of the registry's Secret holding what was given as secret inputs (S3 keys, Redis password). */
export const s3AccessKeyKey = "s3-access-key";
export const s3SecretKeyKey = "s3-secret-key";
export const redisPasswordKey = "redis-password";
/** base64 "user:password" of the pull account: how the garbage-collection job asks each replica whether it is read-only. */
export const probeAuthKey = "pull-auth";
export const dataDirectory = "/var/lib/registry";
/** Where the debug server serves Prometheus metrics. */
export const metricsPath = "/metrics";
export const containerPort = 5000;
/** How long a stopping registry finishes the requests in flight (it stops at once without http.draintimeout). */
export const drainSeconds = 50;

/**
 * The registry's configuration file. YAML is a superset of JSON, so JSON text is a valid config.yml
 * and renders the same bytes every time.
 */
export function renderRegistryConfig(s: RegistrySettings): string {
    const config = {
        version: "0.1",
        log: { level: "info", fields: { service: "registry" } },
        storage: {
            ...storageDriver(s),
            // DELETE /v2/<name>/manifests/<digest> answers 405 without it; verification deletes removed images.
            delete: { enabled: true },
            cache: { blobdescriptor: s.redis ? "redis" : "inmemory" },
            ...s3Behaviour(s),
        },
        http: {
            addr: `:${containerPort}`,
            draintimeout: `${drainSeconds}s`,
            headers: { "X-Content-Type-Options": ["nosniff"] },
            ...debugServer(s),
        },
        auth: {
            htpasswd: { realm: s.hostname, path: `${htpasswdDirectory}/${htpasswdKey}` },
        },
        health: { storagedriver: { enabled: true, interval: "10s", threshold: 3 } },
        ...(s.redis ? { redis: redisSection(s, s.redis) } : {}),
    };
    return JSON.stringify(config, null, 2) + "\n";
}

/**
 * The registry reads a value from the environment (REGISTRY_STORAGE_S3_SECRETKEY, REGISTRY_REDIS_PASSWORD) as YAML:
 * a key such as `0123` would become the number 83, `true` a boolean, `a: b` a map. The registry's own Secret holds such
 * values as YAML double-quoted strings (JSON's quoting is YAML's), which read back as themselves whatever they hold.
 */
export function asYamlString(value: string): string {
    return JSON.stringify(value);
}

/** Where the blobs live: the data directory, or the bucket. Keys come from the environment, never from this file. */
function storageDriver(s: RegistrySettings): object {
    const s3 = s.storage.s3;
    if (!s3) {
        return { filesystem: { rootdirectory: dataDirectory } };
    }
    return {
        s3: {
            // 2.8 wants a region even with an endpoint (3.x not): always rendered.
            region: s3.region,
            bucket: s3.bucket,
            ...(s3.regionEndpoint ? { regionendpoint: s3.regionEndpoint } : {}),
            // 3.x addresses the bucket as a host name unless told (distribution#4528). 2.8's driver has no such
            // parameter and ignores it: it uses the path whenever regionendpoint is set, the host name otherwise.
            forcepathstyle: s3.forcePathStyle,
            ...(s3.rootDirectory ? { rootdirectory: s3.rootDirectory } : {}),
            ...(s3.skipVerify ? { skipverify: true } : {}),
        },
    };
}

/**
 * On S3: blobs through the registry rather than redirects to pre-signed URLs (unless asked), and upload purging every
 * week instead of every day. Every replica purges (one Deployment's pods share one config: "one replica only" cannot
 * be said), and each purge lists every repository's files in the bucket (distribution#4074); an upload is purged only
 * after a week, so replicas purging side by side delete nothing another is writing. Distribution requires all four keys.
 */
function s3Behaviour(s: RegistrySettings): object {
    if (!s.storage.s3) {
        return {};
    }
    return {
        ...(s.storage.s3.disableRedirect ? { redirect: { disable: true } } : {}),
        maintenance: { uploadpurging: { enabled: true, age: "168h", interval: "168h", dryrun: false } },
    };
}

/**
 * The Redis block, in the shape each major version reads: 2.x's own (addr, pool), 3.x's go-redis UniversalOptions
 * inline (addrs, poolsize...). Each ignores the other's keys and then refuses to start ("redis configuration
 * required"). The password comes from the environment (REGISTRY_REDIS_PASSWORD), which both read.
 */
function redisSection(s: RegistrySettings, redis: NonNullable<RegistrySettings["redis"]>): object {
    const timeouts = { dialtimeout: "5s", readtimeout: "2s", writetimeout: "2s" };
    if (s.imageMajorVersion === 3) {
        return {
            addrs: [redis.address],
            db: redis.db,
            ...timeouts,
            poolsize: 64,
            maxidleconns: 16,
            connmaxidletime: "300s",
        };
    }
    return {
        addr: redis.address,
        db: redis.db,
        ...timeouts,
        pool: { maxidle: 16, maxactive: 64, idletimeout: "300s" },
    };
}

/** The debug server with Prometheus metrics, on a port of its own that the Ingress never routes to. */
function debugServer(s: RegistrySettings): object {
    if (!s.metrics.enabled) {
        return {};
    }
    return { debug: { addr: `:${s.metrics.port}`, prometheus: { enabled: true, path: metricsPath } } };
}
