import * as crypto from "crypto";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { StorageType } from "../args";
import { objectName } from "../naming";
import {
    configDirectories,
    containerPort,
    dataDirectory,
    htpasswdDirectory,
    htpasswdKey,
    httpSecretKey,
    metricsPath,
} from "../registryConfig";
import { RegistrySettings, SecretKeyRef } from "../settings";
import { claimName } from "./persistentVolumeClaim";

/*
 * The parts of a pod that runs the registry binary, in one place: the Deployment's pods use them, and so does any
 * other workload that must read the same storage, config and secrets as they do.
 */

type Unwrapped<T> = pulumi.Unwrap<T>;

/** The registry image runs as root by default but needs no privilege: any uid that owns its data will do. */
export const registryUid = 1000;

export const podSecurityContext: Unwrapped<k8s.types.input.core.v1.PodSecurityContext> = {
    runAsNonRoot: true,
    runAsUser: registryUid,
    runAsGroup: registryUid,
    fsGroup: registryUid,
    seccompProfile: { type: "RuntimeDefault" },
};

export const containerSecurityContext: Unwrapped<k8s.types.input.core.v1.SecurityContext> = {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ["ALL"] },
};

/** Environment of the registry container. The HTTP secret comes from the Secret, never as a literal. */
export function registryEnvironment(s: RegistrySettings): Unwrapped<k8s.types.input.core.v1.EnvVar>[] {
    return [
        // Must be the same on every replica, or an upload started on one pod fails on another.
        {
            name: "REGISTRY_HTTP_SECRET",
            valueFrom: { secretKeyRef: { name: objectName(s.name), key: httpSecretKey } },
        },
        // registry:3 exports traces to localhost:4318 by default and logs an error a second without a collector; 2.x ignores it.
        { name: "OTEL_TRACES_EXPORTER", value: "none" },
        ...secretEnvironment(s),
    ];
}

/** The S3 keys and the Redis password, from the registry's Secret or the user's: never in the config or a literal. */
function secretEnvironment(s: RegistrySettings): Unwrapped<k8s.types.input.core.v1.EnvVar>[] {
    const fromSecret = (name: string, ref: SecretKeyRef) => ({ name, valueFrom: { secretKeyRef: ref } });
    const s3 = s.storage.s3?.credentials;
    return [
        ...(s3
            ? [
                  fromSecret("REGISTRY_STORAGE_S3_ACCESSKEY", s3.accessKey),
                  fromSecret("REGISTRY_STORAGE_S3_SECRETKEY", s3.secretKey),
              ]
            : []),
        ...(s.redis?.password ? [fromSecret("REGISTRY_REDIS_PASSWORD", s.redis.password)] : []),
    ];
}

/** The data, the htpasswd file, the config (at both versions' paths) and a writable /tmp. */
export function registryVolumes(s: RegistrySettings): Unwrapped<k8s.types.input.core.v1.Volume>[] {
    const name = objectName(s.name);
    return [
        // On S3 nothing is written there; the mount stays so every storage gives the pod the same layout.
        s.storage.type === StorageType.PersistentVolumeClaim
            ? { name: "data", persistentVolumeClaim: { claimName: claimName(s) } }
            : { name: "data", emptyDir: {} },
        { name: "auth", secret: { secretName: name, items: [{ key: htpasswdKey, path: htpasswdKey }] } },
        { name: "config", configMap: { name } },
        { name: "tmp", emptyDir: {} },
    ];
}

export function registryVolumeMounts(): Unwrapped<k8s.types.input.core.v1.VolumeMount>[] {
    return [
        { name: "data", mountPath: dataDirectory },
        { name: "auth", mountPath: htpasswdDirectory, readOnly: true },
        ...configDirectories.map(mountPath => ({ name: "config", mountPath, readOnly: true })),
        // The read-only root leaves uploads' temporary files nowhere else to go.
        { name: "tmp", mountPath: "/tmp" },
    ];
}

/** The registry's port, and the debug server's when metrics are on. */
export function registryPorts(s: RegistrySettings): Unwrapped<k8s.types.input.core.v1.ContainerPort>[] {
    return [
        { name: "http", containerPort, protocol: "TCP" },
        ...(s.metrics.enabled ? [{ name: "metrics", containerPort: s.metrics.port, protocol: "TCP" }] : []),
    ];
}

/**
 * Checksum of everything the pods read at start: written on the pod template so that a password or
 * config change rolls the pods at once instead of after the kubelet's ~1 minute Secret refresh.
 */
export function podChecksum(config: string, htpasswd: string, httpSecret: string, secretInputs: string[] = []): string {
    const hash = crypto
        .createHash("sha256")
        .update(config)
        .update("\0")
        .update(htpasswd)
        .update("\0")
        .update(httpSecret);
    // The S3 keys and Redis password of the registry's Secret, when given: a new key rolls the pods too.
    for (const value of secretInputs) {
        hash.update("\0").update(value);
    }
    return hash.digest("hex");
}

export function checksumAnnotations(checksum: string): Record<string, string> {
    return { "checksum/secret-and-config": checksum };
}

/** The annotations by which a Prometheus configured for them (the common kubernetes-pods job) scrapes each pod. */
export function scrapeAnnotations(s: RegistrySettings): Record<string, string> {
    if (!s.metrics.enabled) {
        return {};
    }
    return {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": String(s.metrics.port),
        "prometheus.io/path": metricsPath,
    };
}
