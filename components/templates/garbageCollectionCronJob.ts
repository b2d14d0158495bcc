import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { StorageType } from "../args";
import { defaults } from "../defaults";
import { collectGarbageScript, readOnlyWindowScript } from "../garbageCollection/scripts";
import { commonLabels, garbageCollectionName, objectName, selectorLabels, selectorText } from "../naming";
import { configDirectories, configFileName, containerPort, dataDirectory, probeAuthKey } from "../registryConfig";
import { RegistrySettings } from "../settings";
import { registryContainerName, rolloutOf } from "./deployment";
import {
    containerSecurityContext,
    podSecurityContext,
    registryEnvironment,
    registryVolumeMounts,
    registryVolumes,
} from "./registryPod";

type Unwrapped<T> = pulumi.Unwrap<T>;

/** How long each rollout (into read-only and back) may take. */
export const rolloutTimeoutSeconds = 600;
/** A run that lasts longer is stopped; the first container then makes the registry writable again. */
export const runDeadlineSeconds = 7200;

/**
 * The garbage-collection CronJob: always there, suspended when no schedule is set, so that
 * `kubectl create job --from=cronjob/<name>-gc <job>` runs it now. Its pod holds two containers sharing /work: the
 * first (kubectl) makes every replica read-only and writable again (readOnlyWindow.sh), the second (the registry's
 * own image, storage, config and secrets) checks each replica refuses writes and collects (collectGarbage.sh).
 */
export function renderGarbageCollectionCronJob(s: RegistrySettings): Unwrapped<k8s.types.input.batch.v1.CronJob> {
    const name = garbageCollectionName(s.name);
    // Not the registry's selector: the Service must not route to this pod, nor the rollout waits count it.
    const podLabels = { ...commonLabels(s.name, s.labels), "app.kubernetes.io/name": "registry-garbage-collection" };
    // On a ReadWriteOnce volume the pod must run where the registry's pods have it mounted.
    const { affinity } = rolloutOf(s);
    const gc = s.garbageCollection;
    const work = { name: "work", mountPath: "/work" };
    return {
        apiVersion: "batch/v1",
        kind: "CronJob",
        metadata: { name, namespace: s.namespace, labels: commonLabels(s.name, s.labels) },
        spec: {
            // A suspended CronJob still needs a valid schedule; it never fires.
            schedule: gc.schedule ?? defaults.garbageCollection.schedule,
            suspend: gc.schedule === undefined,
            concurrencyPolicy: "Forbid",
            startingDeadlineSeconds: 3600,
            successfulJobsHistoryLimit: 3,
            failedJobsHistoryLimit: 3,
            jobTemplate: {
                metadata: { labels: podLabels },
                spec: {
                    // A failed run is reported, not repeated: it left the registry writable, and the next one is due.
                    backoffLimit: 0,
                    activeDeadlineSeconds: runDeadlineSeconds,
                    template: {
                        metadata: {
                            labels: podLabels,
                            annotations: { "kubectl.kubernetes.io/default-container": "read-only-window" },
                        },
                        spec: {
                            serviceAccountName: name,
                            restartPolicy: "Never",
                            securityContext: podSecurityContext,
                            ...(affinity ? { affinity } : {}),
                            // Time for the first container to make the registry writable again when the run is stopped.
                            terminationGracePeriodSeconds: 120,
                            containers: [
                                {
                                    name: "read-only-window",
                                    image: gc.kubectlImage,
                                    imagePullPolicy: "IfNotPresent",
                                    command: ["/bin/sh", "-c", readOnlyWindowScript],
                                    env: [
                                        { name: "DR_DEPLOYMENT", value: objectName(s.name) },
                                        { name: "DR_CONTAINER", value: registryContainerName },
                                        { name: "DR_SELECTOR", value: selectorText(selectorLabels(s.name)) },
                                        { name: "DR_TIMEOUT_SECONDS", value: String(rolloutTimeoutSeconds) },
                                        {
                                            name: "JOB_NAME",
                                            valueFrom: { fieldRef: { fieldPath: "metadata.labels['job-name']" } },
                                        },
                                        { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
                                        // kubectl keeps its discovery cache there; the root filesystem is read-only.
                                        { name: "HOME", value: "/tmp" },
                                    ],
                                    resources: {
                                        requests: { cpu: "10m", memory: "32Mi" },
                                        limits: { memory: "128Mi" },
                                    },
                                    securityContext: containerSecurityContext,
                                    volumeMounts: [work, { name: "tmp", mountPath: "/tmp" }],
                                },
                                {
                                    name: "garbage-collect",
                                    image: s.image,
                                    imagePullPolicy: "IfNotPresent",
                                    command: ["/bin/sh", "-c", collectGarbageScript],
                                    env: [
                                        ...registryEnvironment(s),
                                        { name: "DR_CONFIG", value: `${configDirectories[0]}/${configFileName}` },
                                        ...(s.storage.type === StorageType.PersistentVolumeClaim
                                            ? [{ name: "DR_DATA_DIR", value: dataDirectory }]
                                            : []),
                                        { name: "DR_PORT", value: String(containerPort) },
                                        ...(gc.deleteUntagged ? [{ name: "DR_DELETE_UNTAGGED", value: "true" }] : []),
                                        // The cache to empty after collecting (its password is the registry's own env).
                                        ...(s.redis
                                            ? [
                                                  { name: "DR_REDIS_ADDRESS", value: s.redis.address },
                                                  { name: "DR_REDIS_DB", value: String(s.redis.db) },
                                              ]
                                            : []),
                                        {
                                            name: "DR_PROBE_AUTH",
                                            valueFrom: {
                                                secretKeyRef: { name: objectName(s.name), key: probeAuthKey },
                                            },
                                        },
                                    ],
                                    resources: s.resources,
                                    securityContext: containerSecurityContext,
                                    volumeMounts: [...registryVolumeMounts(), work],
                                },
                            ],
                            volumes: [...registryVolumes(s), { name: "work", emptyDir: {} }],
                        },
                    },
                },
            },
        },
    };
}
