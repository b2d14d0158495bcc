import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { commonLabels, garbageCollectionName, objectName } from "../naming";
import { RegistrySettings } from "../settings";

/**
 * What the garbage-collection job may do: change the registry's own Deployment (by name: read-only and back, and the
 * lock annotation), and read pods (to wait for the rollouts and find each replica) and jobs (to tell a stale lock).
 * RBAC cannot name pods and jobs that do not exist yet, so those two reads reach the namespace; nothing else is read,
 * and nothing else is written.
 */
export function renderGarbageCollectionRole(s: RegistrySettings): pulumi.Unwrap<k8s.types.input.rbac.v1.Role> {
    return {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "Role",
        metadata: {
            name: garbageCollectionName(s.name),
            namespace: s.namespace,
            labels: commonLabels(s.name, s.labels),
        },
        rules: [
            {
                apiGroups: ["apps"],
                resources: ["deployments"],
                resourceNames: [objectName(s.name)],
                verbs: ["get", "list", "watch", "patch"],
            },
            { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] },
            { apiGroups: ["batch"], resources: ["jobs"], verbs: ["get"] },
        ],
    };
}
