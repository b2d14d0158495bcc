import * as crypto from "crypto";
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
export const dataDirectory = "/var/lib/registry";
export const containerPort = 5000;

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
            headers: { "X-Content-Type-Options": ["nosniff"] },
        },
        auth: {
            htpasswd: { realm: s.hostname, path: `${htpasswdDirectory}/${htpasswdKey}` },
        },
        health: { storagedriver: { enabled: true, interval: "10s", threshold: 3 } },
    };
    return JSON.stringify(config, null, 2) + "\n";
}

/** Environment of the registry container. The HTTP secret comes from the Secret, never as a literal. */
export function registryEnvironment(secretName: string) {
    return [
        // Must be the same on every replica, or an upload started on one pod fails on another.
        { name: "REGISTRY_HTTP_SECRET", valueFrom: { secretKeyRef: { name: secretName, key: httpSecretKey } } },
        // registry:3 exports traces to localhost:4318 by default and logs an error a second without a collector; 2.x ignores it.
        { name: "OTEL_TRACES_EXPORTER", value: "none" },
    ];
}

/**
 * Checksum of everything the pods read at start: written on the pod template so that a password or
 * config change rolls the pods at once instead of after the kubelet's ~1 minute Secret refresh.
 */
export function podChecksum(config: string, htpasswd: string, httpSecret: string): string {
    return crypto
        .createHash("sha256")
        .update(config)
        .update("\0")
        .update(htpasswd)
        .update("\0")
        .update(httpSecret)
        .digest("hex");
}
