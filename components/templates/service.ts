import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { commonLabels, objectName, selectorLabels, skipAwaitAnnotation } from "../naming";
import { containerPort } from "../registryConfig";
import { RegistrySettings } from "../settings";

export function renderService(s: RegistrySettings): pulumi.Unwrap<k8s.types.input.core.v1.Service> {
    return {
        apiVersion: "v1",
        kind: "Service",
        metadata: {
            name: objectName(s.name),
            namespace: s.namespace,
            labels: commonLabels(s.name, s.labels),
            // The provider's Service await waits 10 s after the Endpoints last changed, for nothing the program needs:
            // the push waits for the Deployment (a Ready pod) and the Ingress, and retries while Traefik catches up.
            annotations: { [skipAwaitAnnotation]: "true" },
        },
        spec: {
            type: "ClusterIP",
            selector: selectorLabels(s.name),
            ports: [
                { name: "http", port: containerPort, targetPort: "http", protocol: "TCP" },
                // For Prometheus and a ServiceMonitor; the Ingress names port 5000 only, so it is never routed outside.
                ...(s.metrics.enabled
                    ? [{ name: "metrics", port: s.metrics.port, targetPort: "metrics", protocol: "TCP" }]
                    : []),
            ],
        },
    };
}
