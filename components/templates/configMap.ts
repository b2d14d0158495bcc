import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { commonLabels, objectName } from "../naming";
import { configFileName, renderRegistryConfig } from "../registryConfig";
import { RegistrySettings } from "../settings";

export function renderConfigMap(s: RegistrySettings): pulumi.Unwrap<k8s.types.input.core.v1.ConfigMap> {
    return {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: objectName(s.name), namespace: s.namespace, labels: commonLabels(s.name, s.labels) },
        data: { [configFileName]: renderRegistryConfig(s) },
    };
}
