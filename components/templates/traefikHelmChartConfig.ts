import { commonLabels } from "../naming";
import { RegistrySettings } from "../settings";

/** k3s's kind (a custom resource: the component registers it under this type). */
export const helmChartConfigKind = { apiVersion: "helm.cattle.io/v1", kind: "HelmChartConfig" } as const;

/**
 * k3s installs Traefik from its HelmChart "traefik" in kube-system, and merges a HelmChartConfig of the same name
 * into the chart's values. Since v2.11.2 Traefik ends a request whose body is still being read after 60 s
 * (traefik/traefik#10805), which cuts a large layer push on a slow link; this raises websecure's readTimeout.
 * The chart's key path is ports.websecure.transport.respondingTimeouts.readTimeout.
 */
export function renderTraefikHelmChartConfig(s: RegistrySettings) {
    const seconds = s.ingress.traefikReadTimeoutSeconds;
    return {
        ...helmChartConfigKind,
        metadata: { name: "traefik", namespace: "kube-system", labels: commonLabels(s.name, s.labels) },
        spec: {
            valuesContent: [
                "ports:",
                "  websecure:",
                "    transport:",
                "      respondingTimeouts:",
                `        readTimeout: ${seconds}s`,
                "",
            ].join("\n"),
        },
    };
}
