import * as pulumi from "@pulumi/pulumi";
import { DistributionRegistryArgs, TlsMode } from "./args";
import { defaults } from "./defaults";
import { checkPlainInputs } from "./inputChecks";
import { createGarbageCollection } from "./garbageCollection";
import { planRegistry } from "./plan";
import { createPulling } from "./pulling";
import { resolveInputs } from "./settings";
import { imagePullSecretName } from "./templates/imagePullSecret";
import { createGeneratedTls, planTrust } from "./tls";
import { createVerification } from "./verification";
import { createWorkload } from "./workload";
import { createWorkstation, pushedDigestsOf, registryAuthority } from "./workstation";

/**
 * A private CNCF Distribution registry on Kubernetes with htpasswd auth, the workstation wired to it,
 * images pushed, and the registry's API checked for them. The work is done by the functions it composes.
 */
export class DistributionRegistry extends pulumi.ComponentResource {
    /** https://<hostname>[:port] */
    public readonly url: pulumi.Output<string>;
    public readonly hostname: pulumi.Output<string>;
    public readonly namespace: pulumi.Output<string>;
    /** The Service in front of the registry pods (port 5000 in the cluster). */
    public readonly serviceName: pulumi.Output<string>;
    /** Secret: the htpasswd file the registry reads. */
    public readonly htpasswd: pulumi.Output<string>;
    /** The references pushed, `<registry>/<repository>:<tag>`. */
    public readonly pushedImages: pulumi.Output<string[]>;
    /** Manifest digest of each pushed `<repository>:<tag>`, as the verification read it ({} when it is off). */
    public readonly digests: pulumi.Output<Record<string, string>>;
    /** Name of the image-pull Secret in each of `imagePullSecretNamespaces` ("" when none is listed). */
    public readonly imagePullSecretName: pulumi.Output<string>;
    /** The pull account's username: what the image-pull Secrets carry. */
    public readonly pullUsername: pulumi.Output<string>;
    /** Secret: the pull account's password, generated once and kept in state. */
    public readonly pullPassword: pulumi.Output<string>;
    /** PEM of the CA that clients trust the registry through: the generated one, or dockerTrust.caCertificate ("" when none). */
    public readonly caCertificate: pulumi.Output<string>;

    constructor(name: string, args: DistributionRegistryArgs, opts?: pulumi.ComponentResourceOptions) {
        // What the plain inputs decide, and every plain input checked, before anything is registered (this component
        // included); Outputs are checked when they resolve.
        const plan = planRegistry(name, args);
        checkPlainInputs(name, args, plan);
        super("distribution-registry:index:DistributionRegistry", name, {}, opts);
        const child = { parent: this };
        const { settings, users, address, secretInputs } = resolveInputs(name, args, plan);
        const password = users.apply(u => u[0].password);
        // The username keeps the secrecy it came with (Terraform may mark it sensitive); it waits for the account checks.
        const usersChecked = pulumi.unsecret(users.apply(() => true));
        const username = pulumi.all([pulumi.output(args.username), usersChecked]).apply(([u]) => u);
        const registry = settings.apply(s => registryAuthority(s.hostname, s.port));
        const generated =
            plan.tlsMode === TlsMode.Generated ? createGeneratedTls(name, settings, address, child) : undefined;
        const trust = planTrust(plan, args.workstation?.dockerTrust ?? {}, generated?.caCertificate);

        const workload = createWorkload(
            name,
            { plan, registry, generatedCertificates: generated?.issued, secretInputs },
            settings,
            users,
            child,
        );

        if (plan.garbageCollection) {
            createGarbageCollection(
                name,
                settings,
                {
                    namespace: workload.namespace,
                    workload: [workload.deployment, workload.secret, workload.configMap],
                },
                child,
            );
        }

        // The cluster's side of pulling: every node resolves and trusts the registry, and tools find it (KEP-1755).
        createPulling(
            name,
            { plan, registry, address, caCertificate: trust.caCertificate, namespace: workload.namespace },
            settings,
            child,
        );

        const workstation = createWorkstation(
            name,
            { hostname: settings.hostname, address, registry, username, password, owner: plan.owner, trust },
            args.workstation ?? {},
            plan,
            [workload.deployment, workload.ingress],
            child,
        );

        const verification =
            plan.verification && workstation.imagePush
                ? createVerification(
                      name,
                      {
                          hostname: settings.hostname,
                          address,
                          port: settings.port,
                          username,
                          password,
                          tls: trust.verify,
                      },
                      plan.images,
                      {
                          deadlineSeconds: args.verification?.deadlineSeconds ?? defaults.verification.deadlineSeconds,
                          deleteRemovedImages:
                              args.verification?.deleteRemovedImages ?? defaults.verification.deleteRemovedImages,
                          pushedDigests: workstation.imagePush.stdout.apply(pushedDigestsOf),
                      },
                      { ...child, dependsOn: [workstation.imagePush] },
                  )
                : undefined;

        this.url = settings.apply(s => `https://${registryAuthority(s.hostname, s.port)}`);
        this.hostname = settings.hostname;
        this.namespace = settings.namespace;
        this.serviceName = workload.service.metadata.name;
        this.htpasswd = pulumi.secret(workload.htpasswd);
        this.pushedImages = workstation.imagePush
            ? registry.apply(r => plan.images.map(i => `${r}/${i.repository}:${i.tag}`))
            : pulumi.output([]);
        this.digests = verification ? verification.digests : pulumi.output<Record<string, string>>({});
        // Waits for the Secrets, so that a list resolved late reports its errors here.
        this.imagePullSecretName = pulumi
            .all([settings, workload.imagePullSecrets])
            .apply(([s, secrets]) => (secrets.length ? imagePullSecretName(s) : ""));
        this.pullUsername = settings.apply(s => s.pullUsername);
        this.pullPassword = workload.pullPassword;
        this.caCertificate = pulumi.unsecret(pulumi.output(trust.caCertificate ?? ""));
        this.registerOutputs({
            url: this.url,
            hostname: this.hostname,
            namespace: this.namespace,
            serviceName: this.serviceName,
            htpasswd: this.htpasswd,
            pushedImages: this.pushedImages,
            digests: this.digests,
            imagePullSecretName: this.imagePullSecretName,
            pullUsername: this.pullUsername,
            pullPassword: this.pullPassword,
            caCertificate: this.caCertificate,
        });
    }
}
