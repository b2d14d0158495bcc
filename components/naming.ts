/**
 * Names and labels of the Kubernetes objects, in one place so that every template agrees
 * (the twuni chart's `_helpers.tpl` plays the same part).
 */

/** The name every Kubernetes object of one registry shares; also the Service's DNS name. */
export function objectName(componentName: string): string {
    return componentName;
}

/** The name of the garbage-collection objects: CronJob, ServiceAccount, Role and RoleBinding. */
export function garbageCollectionName(componentName: string): string {
    return `${objectName(componentName)}-gc`;
}

/** A label selector in kubectl's syntax ("k=v,k=v"). */
export function selectorText(labels: Record<string, string>): string {
    return Object.entries(labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(",");
}

/** Labels on every object; the first two also select the pods. */
export function commonLabels(componentName: string, extra: Record<string, string> = {}): Record<string, string> {
    return {
        ...extra,
        ...selectorLabels(componentName),
        "app.kubernetes.io/managed-by": "pulumi",
        "app.kubernetes.io/part-of": "distribution-registry",
    };
}

/** The labels a Service and a Deployment select pods by: stable for the life of the Deployment. */
export function selectorLabels(componentName: string): Record<string, string> {
    return {
        "app.kubernetes.io/name": "registry",
        "app.kubernetes.io/instance": componentName,
    };
}

/** The node-trust DaemonSet's name, and its script ConfigMap's. */
export function nodeTrustName(componentName: string): string {
    return `${objectName(componentName)}-node-trust`;
}

/**
 * The labels the node-trust DaemonSet selects its pods by: not the registry's, which its Service and its pods'
 * affinity select (a node-trust pod must never receive the registry's traffic).
 */
export function nodeTrustSelectorLabels(componentName: string): Record<string, string> {
    return {
        "app.kubernetes.io/name": "registry-node-trust",
        "app.kubernetes.io/instance": componentName,
    };
}

/** Labels on the node-trust objects and pods. */
export function nodeTrustLabels(componentName: string, extra: Record<string, string> = {}): Record<string, string> {
    return { ...commonLabels(componentName, extra), ...nodeTrustSelectorLabels(componentName) };
}

/** pulumi-kubernetes's annotation: create or update the object without waiting for it to be ready. */
export const skipAwaitAnnotation = "pulumi.com/skipAwait";
