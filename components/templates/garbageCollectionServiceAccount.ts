import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { commonLabels, garbageCollectionName } from "../naming";
import { RegistrySettings } from "../settings";

/** The identity of the garbage-collection job: the Role bound to it is all it may do. */
export function renderGarbageCollectionServiceAccount(
    s: RegistrySettings,
): pulumi.Unwrap<k8s.types.input.core.v1.ServiceAccount> {
    return {
        apiVersion: "v1",
        kind: "ServiceAccount",
        metadata: {
            name: garbageCollectionName(s.name),
            namespace: s.namespace,
            labels: commonLabels(s.name, s.labels),
        },
    };
}
