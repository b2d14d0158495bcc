import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { commonLabels, objectName } from "../naming";
import { htpasswdKey, httpSecretKey } from "../registryConfig";
import { RegistrySettings } from "../settings";

/**
 * The htpasswd file and the HTTP secret; the kubelet mounts the first and the second becomes an env var. The S3 keys
 * and Redis password given as inputs too (secretInputsOf: by key, quoted), each read by an env var.
 */
export function renderSecret(
    s: RegistrySettings,
    htpasswd: string,
    httpSecret: string,
    secretInputs: Record<string, string> = {},
): pulumi.Unwrap<k8s.types.input.core.v1.Secret> {
    return {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: objectName(s.name), namespace: s.namespace, labels: commonLabels(s.name, s.labels) },
        type: "Opaque",
        stringData: { [htpasswdKey]: htpasswd, [httpSecretKey]: httpSecret, ...secretInputs },
    };
}
