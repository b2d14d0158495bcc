import * as pulumi from "@pulumi/pulumi";
import { DistributionRegistryArgs, DockerTrustMode, StorageType, TlsMode } from "./args";
import { defaultDockerTrust, defaults } from "./defaults";
import { InputError, isPlain, validateChoice, validateNamespace } from "./validation";
import { resolveImages, ResolvedImage } from "./workstation/images";

/**
 * What follows from the plain inputs, decided once: which objects exist and which modes hold. The component builds
 * from it, the input checks and the workstation preflight read it, and the checks verify as it says. Everything a
 * resource's existence depends on is here, because a resource cannot be created inside an apply.
 */
export interface RegistryPlan {
    /** Where the certificate comes from: the given mode, "secret" when a Secret name is given, else the default. */
    tlsMode: TlsMode;
    /** Docker's trust: the given mode, else what the certificate needs. */
    dockerTrustMode: DockerTrustMode;
    storage: {
        /** An existing claim is storage of type "persistentVolumeClaim". */
        type: StorageType;
        /** A claim is created: a claim is the storage, and none is given. */
        createClaim: boolean;
    };
    createNamespace: boolean;
    /** The garbage-collection CronJob exists: its pod reaches the registry's storage (an emptyDir is one pod's). */
    garbageCollection: boolean;
    /** The images to push, every default applied and checked; none when the push is off. */
    images: ResolvedImage[];
    /** The namespaces that get an image-pull Secret: plain, or an Output when another resource names them. */
    imagePullSecretNamespaces: string[] | pulumi.Output<string[]>;
    hostsEntry: boolean;
    push: boolean;
    /** The checks run after a push. */
    verification: boolean;
    /** k3s's HelmChartConfig for Traefik is rendered. */
    traefikConfig: boolean;
    /** Tells this stack's hosts line and ledger records apart from another's. */
    owner: pulumi.Input<string>;
    /** The node-trust DaemonSet (and the ConfigMap of its script) runs on every node. */
    nodeTrust: boolean;
    /** The KEP-1755 ConfigMap kube-public/local-registry-hosting is written. */
    localRegistryHosting: boolean;
    /** Which secret inputs are given (their values, perhaps Outputs, go into the registry's Secret only). */
    secretInputs: { s3AccessKey: boolean; s3SecretKey: boolean; redisPassword: boolean };
    /** A PodDisruptionBudget keeps one pod of several serving: replicas above 1, or not known before `up`. */
    podDisruptionBudget: boolean;
    /** A ServiceMonitor for the Prometheus Operator. */
    serviceMonitor: boolean;
}

/** The owner the component gives its hosts line and daemon.json record when none is set. */
export function defaultOwner(name: string): string {
    return `${pulumi.getProject()}/${pulumi.getStack()}/${name}`;
}

/** The tls mode: a Secret name (an Output counts: it will be known) means "secret". */
export function tlsModeOf(tls: DistributionRegistryArgs["tls"]): TlsMode {
    if (tls?.mode !== undefined) {
        return validateChoice(tls.mode, TlsMode, "tls.mode");
    }
    return tls?.secretName !== undefined && tls.secretName !== "" ? TlsMode.Secret : defaults.tls.mode;
}

/** Decides the plan; throws InputError naming the first plain input it cannot decide from. */
export function planRegistry(name: string, args: DistributionRegistryArgs): RegistryPlan {
    const w = args.workstation ?? {};
    const tlsMode = tlsModeOf(args.tls);
    const trust = w.dockerTrust ?? {};
    const dockerTrustMode =
        trust.mode === undefined
            ? defaultDockerTrust(tlsMode, trust.caCertificate !== undefined)
            : validateChoice(trust.mode, DockerTrustMode, "workstation.dockerTrust.mode");
    const storageType = args.storage?.existingClaim
        ? StorageType.PersistentVolumeClaim
        : validateChoice(args.storage?.type ?? defaults.storage.type, StorageType, "storage.type");
    const push = w.push ?? {};
    const images =
        (push.enabled ?? defaults.workstation.push.enabled)
            ? resolveImages(push.images ?? defaults.workstation.push.images, {
                  tool: push.tool === undefined ? defaults.workstation.push.tool : plainString(push.tool),
                  platform: push.platform ?? defaults.workstation.push.platform,
              })
            : [];
    const pushes = images.length > 0;
    return {
        tlsMode,
        dockerTrustMode,
        storage: {
            type: storageType,
            createClaim: storageType === StorageType.PersistentVolumeClaim && !args.storage?.existingClaim,
        },
        createNamespace: args.createNamespace ?? defaults.createNamespace,
        garbageCollection: storageType !== StorageType.EmptyDir,
        images,
        imagePullSecretNamespaces: plainList(args.imagePullSecretNamespaces, checkNamespaceList),
        hostsEntry: w.hostsEntry?.enabled ?? defaults.workstation.hostsEntry.enabled,
        push: pushes,
        verification: pushes && (args.verification?.enabled ?? defaults.verification.enabled),
        traefikConfig: args.ingress?.traefikReadTimeoutSeconds !== undefined,
        owner: w.owner ?? defaultOwner(name),
        nodeTrust: args.nodeTrust?.enabled ?? defaults.nodeTrust.enabled,
        localRegistryHosting: args.localRegistryHosting?.enabled ?? defaults.localRegistryHosting.enabled,
        secretInputs: {
            s3AccessKey: args.storage?.s3?.accessKey !== undefined,
            s3SecretKey: args.storage?.s3?.secretKey !== undefined,
            redisPassword: args.redis?.password !== undefined,
        },
        podDisruptionBudget: isPlain(args.replicas)
            ? ((args.replicas as number | undefined) ?? defaults.replicas) > 1
            : true,
        serviceMonitor: args.metrics?.serviceMonitor ?? defaults.metrics.serviceMonitor,
    };
}

function plainString(value: pulumi.Input<string>): string | undefined {
    return typeof value === "string" ? value : undefined;
}

/**
 * A list input that other Pulumi languages may pass as an Output (a YAML stack that names a Namespace it creates),
 * or with Outputs in it: checked now when it is plain, else when it resolves, as one Output of the whole list.
 */
function plainList(
    value: pulumi.Input<pulumi.Input<string>[]> | undefined,
    check: (list: unknown) => string[],
): string[] | pulumi.Output<string[]> {
    if (value === undefined) {
        return [];
    }
    return isPlain(value) ? check(value) : pulumi.output(value).apply(check);
}

/** The namespaces that get an image-pull Secret: DNS labels, each once. */
export function checkNamespaceList(value: unknown): string[] {
    const input = "imagePullSecretNamespaces";
    if (!Array.isArray(value) || !value.every(v => typeof v === "string")) {
        throw new InputError(
            input,
            `${JSON.stringify(value)} is not a list of strings`,
            'Give a list, e.g. ["apps"] (an item may be an Output, such as a Namespace\'s metadata.name).',
        );
    }
    const seen = new Set<string>();
    value.forEach((namespace, i) => {
        validateNamespace(namespace, `${input}[${i}]`);
        if (seen.has(namespace)) {
            throw new InputError(`${input}[${i}]`, `"${namespace}" is listed twice`, "Give each namespace once.");
        }
        seen.add(namespace);
    });
    return value;
}
