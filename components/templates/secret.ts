import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { commonLabels, objectName } from "../naming";
import { htpasswdKey, httpSecretKey, probeAuthKey } from "../registryConfig";
import { RegistrySettings } from "../settings";

/**
 * The htpasswd file and the HTTP secret (the kubelet mounts the first, the second becomes an env var), the pull
 * account's credentials as a Basic authorization (the garbage-collection job's probe of each replica), and the S3 keys
 * and Redis password given as inputs (secretInputEntries: by key, quoted), each read by an env var.
 */
export function renderSecret(
    s: RegistrySettings,
    htpasswd: string,
    httpSecret: string,
    pullUser: { username: string; password: string },
    secretInputs: Record<string, string> = {},
): pulumi.Unwrap<k8s.types.input.core.v1.Secret> {
    return {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: objectName(s.name), namespace: s.namespace, labels: commonLabels(s.name, s.labels) },
        type: "Opaque",
        stringData: {
            [htpasswdKey]: htpasswd,
            [httpSecretKey]: httpSecret,
            [probeAuthKey]: Buffer.from(`${pullUser.username}:${pullUser.password}`, "utf8").toString("base64"),
            ...secretInputs,
        },
    };
}
