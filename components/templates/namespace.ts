import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { commonLabels } from "../naming";
import { RegistrySettings } from "../settings";

export function renderNamespace(s: RegistrySettings): pulumi.Unwrap<k8s.types.input.core.v1.Namespace> {
    return {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name: s.namespace, labels: commonLabels(s.name, s.labels) },
    };
}
