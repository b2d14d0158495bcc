import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { commonLabels, objectName } from "../naming";
import { containerPort } from "../registryConfig";
import { RegistrySettings } from "../settings";

/** KEP-1755's fixed place: tools read it without being told where the registry is. */
export const localRegistryHostingName = "local-registry-hosting";
export const localRegistryHostingNamespace = "kube-public";

/**
 * The ConfigMap of KEP-1755 ("Standard for communicating a local registry"), which Tilt, ctlptl and others read:
 * `host` is where the workstation pushes, `hostFromContainerRuntime` what the nodes pull from (the same name: node
 * trust makes them resolve and trust it), `hostFromClusterNetwork` the Service, for pods (plain HTTP on port 5000, the
 * same accounts), `help` a page for people.
 */
export function renderLocalRegistryHosting(
    s: RegistrySettings,
    registry: string,
): pulumi.Unwrap<k8s.types.input.core.v1.ConfigMap> {
    const fields = {
        host: registry,
        hostFromContainerRuntime: registry,
        hostFromClusterNetwork: `${objectName(s.name)}.${s.namespace}.svc:${containerPort}`,
        help: s.localRegistryHosting.help,
    };
    return {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: {
            name: localRegistryHostingName,
            namespace: localRegistryHostingNamespace,
            labels: commonLabels(s.name, s.labels),
        },
        // YAML; a JSON string is a YAML double-quoted string.
        data: {
            "localRegistryHosting.v1": Object.entries(fields)
                .map(([key, value]) => `${key}: ${JSON.stringify(value)}\n`)
                .join(""),
        },
    };
}
