import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { commonLabels, objectName, selectorLabels } from "../naming";
import { RegistrySettings } from "../settings";

/**
 * A node drain evicts at most one registry pod at a time, so several replicas never all stop together. With one
 * replica (replicas known only at `up`) it allows the eviction, as having none would: a drain is never blocked.
 */
export function renderPodDisruptionBudget(
    s: RegistrySettings,
): pulumi.Unwrap<k8s.types.input.policy.v1.PodDisruptionBudget> {
    return {
        apiVersion: "policy/v1",
        kind: "PodDisruptionBudget",
        metadata: { name: objectName(s.name), namespace: s.namespace, labels: commonLabels(s.name, s.labels) },
        spec: { maxUnavailable: 1, selector: { matchLabels: selectorLabels(s.name) } },
    };
}
