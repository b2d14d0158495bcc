import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { commonLabels, objectName } from "../naming";
import { RegistrySettings } from "../settings";

/** Name of the image-pull Secret; the same in every namespace that gets one. */
export function imagePullSecretName(s: RegistrySettings): string {
    return `${objectName(s.name)}-pull`;
}

/**
 * A `kubernetes.io/dockerconfigjson` Secret that lets pods in `namespace` pull from the registry
 * (`imagePullSecrets: [{ name }]`). The key of `auths` is the registry as image references name it.
 */
export function renderImagePullSecret(
    s: RegistrySettings,
    namespace: string,
    registry: string,
    username: string,
    password: string,
): pulumi.Unwrap<k8s.types.input.core.v1.Secret> {
    const auth = Buffer.from(`${username}:${password}`, "utf8").toString("base64");
    return {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: imagePullSecretName(s), namespace, labels: commonLabels(s.name, s.labels) },
        type: "kubernetes.io/dockerconfigjson",
        stringData: { ".dockerconfigjson": JSON.stringify({ auths: { [registry]: { username, password, auth } } }) },
    };
}
