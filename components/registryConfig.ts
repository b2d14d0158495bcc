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
/** base64 "user:password" of the pull account: how the garbage-collection job asks each replica whether it is read-only. */
export const probeAuthKey = "pull-auth";
export const dataDirectory = "/var/lib/registry";
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
            filesystem: { rootdirectory: dataDirectory },
            // DELETE /v2/<name>/manifests/<digest> answers 405 without it; verification deletes removed images.
            delete: { enabled: true },
            cache: { blobdescriptor: "inmemory" },
        },
        http: {
            addr: `:${containerPort}`,
            draintimeout: `${drainSeconds}s`,
            headers: { "X-Content-Type-Options": ["nosniff"] },
        },
        auth: {
            htpasswd: { realm: s.hostname, path: `${htpasswdDirectory}/${htpasswdKey}` },
        },
        health: { storagedriver: { enabled: true, interval: "10s", threshold: 3 } },
    };
    return JSON.stringify(config, null, 2) + "\n";
}
