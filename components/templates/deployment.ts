import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { StorageAccessMode, StorageType } from "../args";
import { commonLabels, objectName, selectorLabels } from "../naming";
import { RegistrySettings } from "../settings";
import {
    checksumAnnotations,
    containerSecurityContext,
    podSecurityContext,
    registryEnvironment,
    registryPorts,
    registryVolumeMounts,
    registryVolumes,
} from "./registryPod";

export function renderDeployment(
    s: RegistrySettings,
    checksum: string,
): pulumi.Unwrap<k8s.types.input.apps.v1.Deployment> {
    const name = objectName(s.name);
    const probe = { httpGet: { path: "/", port: "http" }, periodSeconds: 10, timeoutSeconds: 3 };
    // Two pods cannot share a ReadWriteOnce volume across nodes: a rolling update would wait forever for the new pod.
    const recreate =
        s.storage.type === StorageType.PersistentVolumeClaim &&
        s.storage.accessMode !== StorageAccessMode.ReadWriteMany;
    return {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: {
            name,
            namespace: s.namespace,
            labels: commonLabels(s.name, s.labels),
            ...(s.skipAwait ? { annotations: { "pulumi.com/skipAwait": "true" } } : {}),
        },
        spec: {
            replicas: s.replicas,
            selector: { matchLabels: selectorLabels(s.name) },
            strategy: recreate ? { type: "Recreate" } : { type: "RollingUpdate" },
            template: {
                metadata: { labels: commonLabels(s.name, s.labels), annotations: checksumAnnotations(checksum) },
                spec: {
                    securityContext: podSecurityContext,
                    containers: [
                        {
                            name: "registry",
                            image: s.image,
                            imagePullPolicy: "IfNotPresent",
                            ports: registryPorts,
                            env: registryEnvironment(s),
                            // GET / answers 200 even with auth on; /v2/ would answer 401 and fail the probe.
                            readinessProbe: { ...probe, failureThreshold: 3 },
                            livenessProbe: { ...probe, initialDelaySeconds: 10, failureThreshold: 6 },
                            resources: s.resources,
                            securityContext: containerSecurityContext,
                            volumeMounts: registryVolumeMounts(),
                        },
                    ],
                    volumes: registryVolumes(s),
                },
            },
        },
    };
}
