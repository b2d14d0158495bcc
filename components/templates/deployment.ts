import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { StorageAccessMode, StorageType } from "../args";
import { commonLabels, objectName, selectorLabels, skipAwaitAnnotation } from "../naming";
import { isSharedStorage, RegistrySettings } from "../settings";
import {
    checksumAnnotations,
    containerSecurityContext,
    podSecurityContext,
    registryEnvironment,
    registryPorts,
    registryVolumeMounts,
    registryVolumes,
    scrapeAnnotations,
} from "./registryPod";
import { drainSeconds } from "../registryConfig";

/**
 * How a change replaces the pods. A second pod starts and becomes Ready before the old one stops (no outage), wherever
 * the storage lets two pods hold it: a ReadWriteOnce volume is one node's, not one pod's, so the pods are kept on one
 * node (a required affinity to each other: the new pod lands where the volume is attached, the first one anywhere).
 * A ReadWriteOncePod volume takes one pod only: the old pod must stop first (Recreate, a short outage).
 */
export function rolloutOf(s: RegistrySettings): {
    strategy: pulumi.Unwrap<k8s.types.input.apps.v1.DeploymentStrategy>;
    affinity?: pulumi.Unwrap<k8s.types.input.core.v1.Affinity>;
} {
    const claim = s.storage.type === StorageType.PersistentVolumeClaim;
    if (claim && s.storage.accessMode === StorageAccessMode.ReadWriteOncePod) {
        return { strategy: { type: "Recreate" } };
    }
    const strategy = { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } };
    if (!claim || s.storage.accessMode !== StorageAccessMode.ReadWriteOnce) {
        return { strategy };
    }
    return { strategy, affinity: sameNodeAffinity(s) };
}

/** Pods that must share the node of the registry's pods (the registry's own, and any pod mounting its volume). */
export function sameNodeAffinity(s: RegistrySettings): pulumi.Unwrap<k8s.types.input.core.v1.Affinity> {
    return {
        podAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: [
                { labelSelector: { matchLabels: selectorLabels(s.name) }, topologyKey: "kubernetes.io/hostname" },
            ],
        },
    };
}

/**
 * Several replicas on storage they share are spread over the nodes, so that losing a node leaves one serving. A
 * preference (ScheduleAnyway), not a rule: a one-node cluster still runs them all, and a rollout's extra pod still lands.
 */
export function spreadOf(s: RegistrySettings): pulumi.Unwrap<k8s.types.input.core.v1.TopologySpreadConstraint>[] {
    if (!isSharedStorage(s.storage) || s.replicas < 2) {
        return [];
    }
    return [
        {
            maxSkew: 1,
            topologyKey: "kubernetes.io/hostname",
            whenUnsatisfiable: "ScheduleAnyway",
            labelSelector: { matchLabels: selectorLabels(s.name) },
        },
    ];
}
/** The registry's container in the pod template (garbage collection patches its environment). */
export const registryContainerName = "registry";

/** Seconds a stopping pod keeps serving after it leaves the Service, so the ingress stops sending it requests first. */
export const stopDelaySeconds = 5;

export function renderDeployment(
    s: RegistrySettings,
    checksum: string,
): pulumi.Unwrap<k8s.types.input.apps.v1.Deployment> {
    const name = objectName(s.name);
    const { strategy, affinity } = rolloutOf(s);
    const spread = spreadOf(s);
    return {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: {
            name,
            namespace: s.namespace,
            labels: commonLabels(s.name, s.labels),
            ...(s.skipAwait ? { annotations: { [skipAwaitAnnotation]: "true" } } : {}),
        },
        spec: {
            replicas: s.replicas,
            selector: { matchLabels: selectorLabels(s.name) },
            strategy,
            template: {
                metadata: {
                    labels: commonLabels(s.name, s.labels),
                    annotations: { ...checksumAnnotations(checksum), ...scrapeAnnotations(s) },
                },
                spec: {
                    securityContext: podSecurityContext,
                    ...(affinity ? { affinity } : {}),
                    ...(spread.length ? { topologySpreadConstraints: spread } : {}),
                    // The stop delay, then the registry's own drain of requests in flight (http.draintimeout).
                    terminationGracePeriodSeconds: stopDelaySeconds + drainSeconds + 5,
                    containers: [
                        {
                            name: registryContainerName,
                            image: s.image,
                            imagePullPolicy: "IfNotPresent",
                            ports: registryPorts(s),
                            env: registryEnvironment(s),
                            // Started is listening, asked every second: the kubelet runs the readiness probe as soon
                            // as it passes, so the pod is Ready about a second after the registry listens, not at the
                            // next 10 s tick after a first probe that came too early. 60 s to start listening.
                            startupProbe: {
                                tcpSocket: { port: "http" },
                                periodSeconds: 1,
                                timeoutSeconds: 1,
                                failureThreshold: 60,
                            },
                            // GET / answers 200 even with auth on (/v2/ would answer 401), and 503 when the storage
                            // fails (health.storagedriver): the pod then leaves the Service until it recovers.
                            readinessProbe: {
                                httpGet: { path: "/", port: "http" },
                                periodSeconds: 10,
                                timeoutSeconds: 3,
                                failureThreshold: 3,
                            },
                            // Alive is listening: a storage outage is not cured by a restart. (Asked once started.)
                            livenessProbe: {
                                tcpSocket: { port: "http" },
                                periodSeconds: 10,
                                timeoutSeconds: 3,
                                failureThreshold: 6,
                            },
                            lifecycle: { preStop: { sleep: { seconds: stopDelaySeconds } } },
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
