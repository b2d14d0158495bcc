import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { HtpasswdUser, renderHtpasswd } from "./htpasswd";
import { renderRegistryConfig } from "./registryConfig";
import { RegistryPlan } from "./plan";
import { RegistrySettings } from "./settings";
import { renderConfigMap } from "./templates/configMap";
import { renderDeployment } from "./templates/deployment";
import { renderImagePullSecret } from "./templates/imagePullSecret";
import { renderIngress } from "./templates/ingress";
import { renderNamespace } from "./templates/namespace";
import { renderPersistentVolumeClaim } from "./templates/persistentVolumeClaim";
import { renderPodDisruptionBudget } from "./templates/podDisruptionBudget";
import { renderServiceMonitor, serviceMonitorKind } from "./templates/serviceMonitor";
import { podChecksum } from "./templates/registryPod";
import { renderSecret } from "./templates/secret";
import { renderService } from "./templates/service";
import { renderTlsSecret } from "./templates/tlsSecret";
import { helmChartConfigKind, renderTraefikHelmChartConfig } from "./templates/traefikHelmChartConfig";
import { IssuedCertificates } from "./tls/certificates";

/** The Kubernetes side of the registry, and what other parts wait for. */
export interface Workload {
    /** Secret: the rendered htpasswd file. */
    htpasswd: pulumi.Output<string>;
    /** Secret: the pull account's password, generated once and kept in state. */
    pullPassword: pulumi.Output<string>;
    namespace?: k8s.core.v1.Namespace;
    secret: k8s.core.v1.Secret;
    configMap: k8s.core.v1.ConfigMap;
    claim?: k8s.core.v1.PersistentVolumeClaim;
    deployment: k8s.apps.v1.Deployment;
    service: k8s.core.v1.Service;
    ingress: k8s.networking.v1.Ingress;
    /** The generated certificate the Ingress serves (tls "generated"). */
    tlsSecret?: k8s.core.v1.Secret;
    /** k3s's Traefik with a longer websecure readTimeout (ingress.traefikReadTimeoutSeconds). */
    traefikConfig?: k8s.apiextensions.CustomResource;
    /** One image-pull Secret per listed namespace (known once the list is, when another resource names them). */
    imagePullSecrets: pulumi.Output<k8s.core.v1.Secret[]>;
    /** At most one pod of several stopped by a drain (replicas above 1). */
    podDisruptionBudget?: k8s.policy.v1.PodDisruptionBudget;
    /** The Prometheus Operator's scrape of the metrics port (metrics.serviceMonitor). */
    serviceMonitor?: k8s.apiextensions.CustomResource;
}

/** What the Kubernetes side is made from besides the settings: the plan, and what other parts computed. */
export interface WorkloadInputs {
    plan: Pick<
        RegistryPlan,
        | "createNamespace"
        | "storage"
        | "imagePullSecretNamespaces"
        | "traefikConfig"
        | "podDisruptionBudget"
        | "serviceMonitor"
    >;
    /** The registry as image references name it: host, or host:port. */
    registry: pulumi.Output<string>;
    /** Secret: the S3 keys and Redis password given as inputs, for the registry's Secret (settings.ts secretInputsOf). */
    secretInputs?: pulumi.Output<Record<string, string>>;
    /** Secret: the generated certificates, when tls is "generated". */
    generatedCertificates?: pulumi.Output<IssuedCertificates>;
}

export function createWorkload(
    name: string,
    shape: WorkloadInputs,
    settings: pulumi.Output<RegistrySettings>,
    users: pulumi.Output<HtpasswdUser[]>,
    opts: pulumi.CustomResourceOptions,
): Workload {
    // Both kept in state: the salt key makes the bcrypt hashes repeatable, and every replica needs the same HTTP secret.
    // Their lengths wait for the settings so that, like everything else, they are not created when an input is bad.
    const saltKey = new random.RandomPassword(
        `${name}-bcrypt-salt-key`,
        { length: settings.apply(() => 32), special: false },
        opts,
    );
    const httpSecret = new random.RandomPassword(
        `${name}-http-secret`,
        { length: settings.apply(() => 48), special: false },
        opts,
    );

    // The account the image-pull Secrets carry: the admin's password then lives in no namespace, and rotating
    // either password leaves the other working.
    const pullPassword = new random.RandomPassword(
        `${name}-pull-password`,
        { length: settings.apply(() => 32), special: false },
        opts,
    );
    const pullUser = pulumi
        .all([settings, pullPassword.result])
        .apply(([s, password]): HtpasswdUser => ({ username: s.pullUsername, password }));
    const htpasswd = pulumi.secret(
        pulumi
            .all([users, pullUser, saltKey.result, settings])
            .apply(([u, pull, key, s]) => renderHtpasswd([...u, pull], key, s.bcryptCost)),
    );
    const secretInputs = shape.secretInputs ?? pulumi.output({});
    // A hash of a bcrypt file and a random string (and the secret inputs) reveals none of them; unsecret it so the
    // Deployment stays readable in state and diffs.
    const checksum = pulumi.unsecret(
        pulumi
            .all([settings, htpasswd, httpSecret.result, secretInputs])
            .apply(([s, h, x, more]) => podChecksum(renderRegistryConfig(s), h, x, Object.values(more))),
    );

    const namespaceObject = settings.apply(renderNamespace);
    const namespace = shape.plan.createNamespace
        ? new k8s.core.v1.Namespace(`${name}-namespace`, { metadata: namespaceObject.metadata }, opts)
        : undefined;
    const inNamespace: pulumi.CustomResourceOptions = { ...opts, dependsOn: namespace ? [namespace] : [] };

    const secretObject = pulumi
        .all([settings, htpasswd, httpSecret.result, pullUser, secretInputs])
        .apply(([s, h, x, pull, more]) => renderSecret(s, h, x, pull, more));
    const secret = new k8s.core.v1.Secret(
        `${name}-secret`,
        { metadata: secretObject.metadata, type: secretObject.type, stringData: secretObject.stringData },
        inNamespace,
    );

    const configMapObject = settings.apply(renderConfigMap);
    const configMap = new k8s.core.v1.ConfigMap(
        `${name}-config`,
        { metadata: configMapObject.metadata, data: configMapObject.data },
        inNamespace,
    );

    const claimObject = settings.apply(renderPersistentVolumeClaim);
    const claim = shape.plan.storage.createClaim
        ? new k8s.core.v1.PersistentVolumeClaim(
              `${name}-data`,
              { metadata: claimObject.metadata, spec: claimObject.spec },
              inNamespace,
          )
        : undefined;

    const deploymentObject = pulumi.all([settings, checksum]).apply(([s, c]) => renderDeployment(s, c));
    const deployment = new k8s.apps.v1.Deployment(
        `${name}-deployment`,
        { metadata: deploymentObject.metadata, spec: deploymentObject.spec },
        { ...opts, dependsOn: [...(namespace ? [namespace] : []), secret, configMap, ...(claim ? [claim] : [])] },
    );

    const serviceObject = settings.apply(renderService);
    const service = new k8s.core.v1.Service(
        `${name}-service`,
        { metadata: serviceObject.metadata, spec: serviceObject.spec },
        inNamespace,
    );

    const budgetObject = settings.apply(renderPodDisruptionBudget);
    const podDisruptionBudget = shape.plan.podDisruptionBudget
        ? new k8s.policy.v1.PodDisruptionBudget(
              `${name}-pdb`,
              { metadata: budgetObject.metadata, spec: budgetObject.spec },
              inNamespace,
          )
        : undefined;
    const serviceMonitor = shape.plan.serviceMonitor
        ? customResource(`${name}-service-monitor`, serviceMonitorKind, settings.apply(renderServiceMonitor), {
              ...inNamespace,
              dependsOn: [...(namespace ? [namespace] : []), service],
          })
        : undefined;

    // The key is in stringData, which stays secret; the name and type are not.
    const tlsSecret =
        shape.generatedCertificates &&
        (() => {
            const object = pulumi
                .all([settings, shape.generatedCertificates])
                .apply(([s, issued]) => renderTlsSecret(s, issued));
            return new k8s.core.v1.Secret(
                `${name}-tls`,
                {
                    metadata: pulumi.unsecret(object.apply(o => o.metadata)),
                    type: pulumi.unsecret(object.apply(o => o.type)),
                    stringData: pulumi.secret(object.apply(o => o.stringData)),
                },
                inNamespace,
            );
        })();

    const ingressObject = pulumi
        .all([settings, tlsSecret?.metadata.name])
        .apply(([s, generatedName]) => renderIngress(s, generatedName ?? s.tls.secretName));
    const ingress = new k8s.networking.v1.Ingress(
        `${name}-ingress`,
        { metadata: ingressObject.metadata, spec: ingressObject.spec },
        { ...opts, dependsOn: [...(namespace ? [namespace] : []), service, ...(tlsSecret ? [tlsSecret] : [])] },
    );

    const traefikConfig = shape.plan.traefikConfig
        ? customResource(
              `${name}-traefik-config`,
              helmChartConfigKind,
              settings.apply(renderTraefikHelmChartConfig),
              opts,
          )
        : undefined;

    // The password is inside stringData, which stays secret; the name and type are not, so diffs stay readable.
    // The registry's own namespace may be one of them: each waits for the namespace this stack creates.
    const pullSecret = (target: string) => {
        const object = pulumi
            .all([settings, shape.registry, pullUser])
            .apply(([s, r, pull]) => renderImagePullSecret(s, target, r, pull.username, pull.password));
        return new k8s.core.v1.Secret(
            `${name}-pull-secret-${target}`,
            {
                metadata: pulumi.unsecret(object.apply(o => o.metadata)),
                type: pulumi.unsecret(object.apply(o => o.type)),
                stringData: pulumi.secret(object.apply(o => o.stringData)),
            },
            inNamespace,
        );
    };
    // A list another resource names is known only when it resolves: its Secrets are registered then (not at preview).
    const namespaces = shape.plan.imagePullSecretNamespaces;
    const imagePullSecrets = Array.isArray(namespaces)
        ? pulumi.output(namespaces.map(pullSecret))
        : namespaces.apply(list => list.map(pullSecret));

    return {
        htpasswd,
        pullPassword: pulumi.secret(pullPassword.result),
        namespace,
        secret,
        configMap,
        claim,
        deployment,
        service,
        ingress,
        tlsSecret,
        traefikConfig,
        imagePullSecrets,
        podDisruptionBudget,
        serviceMonitor,
    };
}

/**
 * A custom resource from its rendered object. Its kind is given as plain strings: the provider makes the resource's
 * type from them when it registers, before the object (which waits for the settings) is known.
 */
function customResource(
    name: string,
    kind: { apiVersion: string; kind: string },
    object: pulumi.Output<{ metadata: object; spec: object }>,
    opts: pulumi.CustomResourceOptions,
): k8s.apiextensions.CustomResource {
    return new k8s.apiextensions.CustomResource(name, { ...kind, metadata: object.metadata, spec: object.spec }, opts);
}
