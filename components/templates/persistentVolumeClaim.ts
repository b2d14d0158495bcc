import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { commonLabels, objectName, skipAwaitAnnotation } from "../naming";
import { RegistrySettings } from "../settings";

/** Name of the claim the pods mount: the user's existing one, or the one rendered here. */
export function claimName(s: RegistrySettings): string {
    return s.storage.existingClaim ?? `${objectName(s.name)}-data`;
}

export function renderPersistentVolumeClaim(
    s: RegistrySettings,
): pulumi.Unwrap<k8s.types.input.core.v1.PersistentVolumeClaim> {
    return {
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        metadata: {
            name: claimName(s),
            namespace: s.namespace,
            labels: commonLabels(s.name, s.labels),
            // k3s's local-path class binds on first consumer: waiting for Bound before the Deployment exists would hang.
            annotations: { [skipAwaitAnnotation]: "true" },
        },
        spec: {
            accessModes: [s.storage.accessMode],
            resources: { requests: { storage: s.storage.size } },
            ...(s.storage.storageClassName ? { storageClassName: s.storage.storageClassName } : {}),
        },
    };
}
