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
