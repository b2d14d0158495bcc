import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { RegistrySettings } from "../settings";
import { renderGarbageCollectionCronJob } from "../templates/garbageCollectionCronJob";
import { renderGarbageCollectionRole } from "../templates/garbageCollectionRole";
import { renderGarbageCollectionRoleBinding } from "../templates/garbageCollectionRoleBinding";
import { renderGarbageCollectionServiceAccount } from "../templates/garbageCollectionServiceAccount";

/** The garbage-collection objects: a CronJob run by a ServiceAccount whose Role reaches only the registry's own. */
export interface GarbageCollection {
    serviceAccount: k8s.core.v1.ServiceAccount;
    role: k8s.rbac.v1.Role;
    roleBinding: k8s.rbac.v1.RoleBinding;
    cronJob: k8s.batch.v1.CronJob;
}

/** What the objects wait for: the namespace they live in, and what a run needs in place. */
export interface GarbageCollectionNeeds {
    /** The namespace, when the stack creates it. */
    namespace?: pulumi.Resource;
    /** The Deployment a run switches and the Secret and ConfigMap its pod mounts: a run right after `up` finds them. */
    workload: pulumi.Resource[];
}

export function createGarbageCollection(
    name: string,
    settings: pulumi.Output<RegistrySettings>,
    needs: GarbageCollectionNeeds,
    opts: pulumi.CustomResourceOptions,
): GarbageCollection {
    const after = (...resources: pulumi.Resource[]) => ({
        ...opts,
        dependsOn: [...(needs.namespace ? [needs.namespace] : []), ...resources],
    });
    const account = settings.apply(renderGarbageCollectionServiceAccount);
    const serviceAccount = new k8s.core.v1.ServiceAccount(`${name}-gc`, { metadata: account.metadata }, after());
    const roleObject = settings.apply(renderGarbageCollectionRole);
    const role = new k8s.rbac.v1.Role(
        `${name}-gc`,
        { metadata: roleObject.metadata, rules: roleObject.rules },
        after(),
    );
    const bindingObject = settings.apply(renderGarbageCollectionRoleBinding);
    const roleBinding = new k8s.rbac.v1.RoleBinding(
        `${name}-gc`,
        { metadata: bindingObject.metadata, roleRef: bindingObject.roleRef, subjects: bindingObject.subjects },
        after(serviceAccount, role),
    );
    const cronJobObject = settings.apply(renderGarbageCollectionCronJob);
    const cronJob = new k8s.batch.v1.CronJob(
        `${name}-gc`,
        { metadata: cronJobObject.metadata, spec: cronJobObject.spec },
        after(...needs.workload, roleBinding),
    );
    return { serviceAccount, role, roleBinding, cronJob };
}
