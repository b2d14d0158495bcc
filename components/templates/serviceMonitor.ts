import { commonLabels, objectName, selectorLabels } from "../naming";
import { metricsPath } from "../registryConfig";
import { RegistrySettings } from "../settings";

/** The Prometheus Operator's kind (a custom resource: the component registers it under this type). */
export const serviceMonitorKind = { apiVersion: "monitoring.coreos.com/v1", kind: "ServiceMonitor" } as const;

/** The Prometheus Operator's ServiceMonitor: it scrapes the Service's "metrics" port. */
export function renderServiceMonitor(s: RegistrySettings) {
    return {
        ...serviceMonitorKind,
        metadata: { name: objectName(s.name), namespace: s.namespace, labels: commonLabels(s.name, s.labels) },
        spec: {
            selector: { matchLabels: selectorLabels(s.name) },
            namespaceSelector: { matchNames: [s.namespace] },
            endpoints: [{ port: "metrics", path: metricsPath, interval: "30s" }],
        },
    };
}
