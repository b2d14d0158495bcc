import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { commonLabels, objectName, selectorLabels } from "../naming";
import {
    configDirectories,
    containerPort,
    dataDirectory,
    htpasswdDirectory,
    htpasswdKey,
    registryEnvironment,
} from "../registryConfig";
import { RegistrySettings } from "../settings";
import { claimName } from "./persistentVolumeClaim";

/** The registry image runs as root by default but needs no privilege: any uid that owns its data will do. */
const registryUid = 1000;

export function renderDeployment(
    s: RegistrySettings,
    checksum: string,
): pulumi.Unwrap<k8s.types.input.apps.v1.Deployment> {
    const name = objectName(s.name);
    const probe = { httpGet: { path: "/", port: "http" }, periodSeconds: 10, timeoutSeconds: 3 };
    // Two pods cannot share a ReadWriteOnce volume across nodes: a rolling update would wait forever for the new pod.
    const recreate = s.storage.type === "persistentVolumeClaim" && s.storage.accessMode !== "ReadWriteMany";
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
                metadata: {
                    labels: commonLabels(s.name, s.labels),
                    annotations: { "checksum/secret-and-config": checksum },
                },
                spec: {
                    securityContext: {
                        runAsNonRoot: true,
                        runAsUser: registryUid,
                        runAsGroup: registryUid,
                        fsGroup: registryUid,
                        seccompProfile: { type: "RuntimeDefault" },
                    },
                    containers: [
                        {
                            name: "registry",
                            image: s.image,
                            imagePullPolicy: "IfNotPresent",
                            ports: [{ name: "http", containerPort, protocol: "TCP" }],
                            env: registryEnvironment(name),
                            // GET / answers 200 even with auth on; /v2/ would answer 401 and fail the probe.
                            readinessProbe: { ...probe, failureThreshold: 3 },
                            livenessProbe: { ...probe, initialDelaySeconds: 10, failureThreshold: 6 },
                            resources: s.resources,
                            securityContext: {
                                allowPrivilegeEscalation: false,
                                readOnlyRootFilesystem: true,
                                capabilities: { drop: ["ALL"] },
                            },
                            volumeMounts: [
                                { name: "data", mountPath: dataDirectory },
                                { name: "auth", mountPath: htpasswdDirectory, readOnly: true },
                                ...configDirectories.map(mountPath => ({ name: "config", mountPath, readOnly: true })),
                                // The read-only root leaves uploads' temporary files nowhere else to go.
                                { name: "tmp", mountPath: "/tmp" },
                            ],
                        },
                    ],
                    volumes: [
                        s.storage.type === "persistentVolumeClaim"
                            ? { name: "data", persistentVolumeClaim: { claimName: claimName(s) } }
                            : { name: "data", emptyDir: {} },
                        {
                            name: "auth",
                            secret: { secretName: name, items: [{ key: htpasswdKey, path: htpasswdKey }] },
                        },
                        { name: "config", configMap: { name } },
                        { name: "tmp", emptyDir: {} },
                    ],
                },
            },
        },
    };
}
