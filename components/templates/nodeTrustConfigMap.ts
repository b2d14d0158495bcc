import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { nodeTrustLabels, nodeTrustName } from "../naming";
import { RegistrySettings } from "../settings";

/** Where the node-trust pods find the script and the CA: this ConfigMap, mounted read-only. */
export const nodeTrustMountPath = "/node-trust";
export const nodeTrustScriptKey = "nodeTrust.sh";
export const nodeTrustCaKey = "ca.crt";

/** The node-trust script (components/pulling/scripts/nodeTrust.sh) and, when nodes trust a CA, that CA (public). */
export function renderNodeTrustConfigMap(
    s: RegistrySettings,
    script: string,
    caCertificate: string | undefined,
): pulumi.Unwrap<k8s.types.input.core.v1.ConfigMap> {
    return {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: nodeTrustName(s.name), namespace: s.namespace, labels: nodeTrustLabels(s.name, s.labels) },
        data: {
            [nodeTrustScriptKey]: script,
            ...(caCertificate === undefined ? {} : { [nodeTrustCaKey]: caCertificate }),
        },
    };
}
