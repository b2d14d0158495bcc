import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { commonLabels, garbageCollectionName } from "../naming";
import { RegistrySettings } from "../settings";

/** The garbage-collection Role, granted to its ServiceAccount only. */
export function renderGarbageCollectionRoleBinding(
    s: RegistrySettings,
): pulumi.Unwrap<k8s.types.input.rbac.v1.RoleBinding> {
    const name = garbageCollectionName(s.name);
    return {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { name, namespace: s.namespace, labels: commonLabels(s.name, s.labels) },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name },
        subjects: [{ kind: "ServiceAccount", name, namespace: s.namespace }],
    };
}
