import * as pulumi from "@pulumi/pulumi";
import { DistributionRegistryArgs } from "./args";
import { HtpasswdUser } from "./htpasswd";
import {
    InputError,
    accessModes,
    storageTypes,
    tlsModes,
    validateAddress,
    validateBcryptCost,
    validateChoice,
    validateDays,
    validateHostname,
    validateImage,
    validateNamespace,
    validateObjectName,
    validatePassword,
    validatePort,
    validateQuantity,
    validateReplicas,
    validateSeconds,
    validateUsername,
} from "./validation";

/** The registry's settings with every default applied and every value checked: what the templates render. */
export interface RegistrySettings {
    /** Name shared by the Kubernetes objects. */
    name: string;
    hostname: string;
    port: number;
    namespace: string;
    createNamespace: boolean;
    image: string;
    replicas: number;
    storage: {
        type: "emptyDir" | "persistentVolumeClaim";
        size: string;
        storageClassName?: string;
        accessMode: "ReadWriteOnce" | "ReadWriteMany" | "ReadWriteOncePod";
        existingClaim?: string;
    };
    ingress: {
        className?: string;
        annotations: Record<string, string>;
        /** k3s's Traefik websecure readTimeout to render in a HelmChartConfig; none: leave Traefik alone. */
        traefikReadTimeoutSeconds?: number;
    };
    tls: {
        mode: "generated" | "secret" | "ingressDefault";
        /** The user's Secret ("secret"); the generated one is named when it is created, and none means the controller's default. */
        secretName?: string;
        validityDays: number;
        caValidityDays: number;
    };
    bcryptCost: number;
    resources: { requests: Record<string, string>; limits: Record<string, string> };
    labels: Record<string, string>;
    skipAwait: boolean;
}

export const defaults = {
    hostname: "registry.test",
    port: 443,
    namespace: "examples",
    image: "registry:2.8.3",
    replicas: 1,
    // A registry on emptyDir forgets every image when its pod restarts; k3s (and most clusters) have a default class.
    storageType: "persistentVolumeClaim" as const,
    storageSize: "10Gi",
    accessMode: "ReadWriteOnce" as const,
    bcryptCost: 5,
    requests: { cpu: "50m", memory: "64Mi" },
    limits: { memory: "512Mi" },
    tlsMode: "generated" as const,
    // A year, renewed after eight months; the CA ten years. Both stay under what clients refuse (macOS: 825 days for a server).
    tlsValidityDays: 365,
    tlsCaValidityDays: 3650,
};

/** The plain (already resolved) form of the arguments that settle the Kubernetes objects. */
export type PlainSettingsArgs = pulumi.Unwrap<
    Omit<
        DistributionRegistryArgs,
        | "address"
        | "username"
        | "password"
        | "extraUsers"
        | "workstation"
        | "verification"
        | "imagePullSecretNamespaces"
    >
>;

/** Applies defaults and checks every value; throws InputError naming the first bad input. */
export function settingsFromArgs(name: string, args: PlainSettingsArgs): RegistrySettings {
    const storageArgs = args.storage ?? {};
    if (storageArgs.type !== undefined) {
        validateChoice(storageArgs.type, storageTypes, "storage.type");
    }
    if (storageArgs.existingClaim !== undefined) {
        validateObjectName(storageArgs.existingClaim, "storage.existingClaim");
        if (storageArgs.type === "emptyDir") {
            throw new InputError(
                "storage.existingClaim",
                'is set while storage.type is "emptyDir"',
                'Unset one of them: the claim is storage of type "persistentVolumeClaim".',
            );
        }
    }
    if (storageArgs.storageClassName !== undefined) {
        validateObjectName(storageArgs.storageClassName, "storage.storageClassName");
    }
    const storageType = storageArgs.existingClaim
        ? "persistentVolumeClaim"
        : (storageArgs.type ?? defaults.storageType);
    const accessMode = validateChoice(storageArgs.accessMode ?? defaults.accessMode, accessModes, "storage.accessMode");
    const size = validateQuantity(storageArgs.size ?? defaults.storageSize, "storage", "storage.size");
    // An existing claim's access mode is not known here: trust the user's accessMode for it.
    const storageShared = storageType === "persistentVolumeClaim" && accessMode === "ReadWriteMany";
    return {
        name,
        hostname: validateHostname(args.hostname ?? defaults.hostname),
        port: validatePort(args.port ?? defaults.port),
        namespace: validateNamespace(args.namespace ?? defaults.namespace),
        createNamespace: args.createNamespace ?? false,
        image: validateImage(args.image ?? defaults.image),
        replicas: validateReplicas(args.replicas ?? defaults.replicas, storageShared),
        storage: {
            type: storageType,
            size,
            storageClassName: storageArgs.storageClassName,
            accessMode,
            existingClaim: storageArgs.existingClaim,
        },
        ingress: {
            className: args.ingress?.className,
            annotations: args.ingress?.annotations ?? {},
            traefikReadTimeoutSeconds:
                args.ingress?.traefikReadTimeoutSeconds === undefined
                    ? undefined
                    : validateSeconds(args.ingress.traefikReadTimeoutSeconds, "ingress.traefikReadTimeoutSeconds", 600),
        },
        tls: tlsFromArgs(args.tls ?? {}),
        bcryptCost: validateBcryptCost(args.bcryptCost ?? defaults.bcryptCost),
        resources: {
            requests: validateResources(args.resources?.requests ?? defaults.requests, "resources.requests"),
            limits: validateResources(args.resources?.limits ?? defaults.limits, "resources.limits"),
        },
        labels: args.labels ?? {},
        skipAwait: args.skipAwait ?? false,
    };
}

/** The certificate's source: "secret" needs a Secret name, and a Secret name means "secret". */
export function tlsFromArgs(tls: NonNullable<PlainSettingsArgs["tls"]>): RegistrySettings["tls"] {
    const mode = validateChoice(tls.mode ?? (tls.secretName ? "secret" : defaults.tlsMode), tlsModes, "tls.mode");
    if (tls.secretName !== undefined && tls.secretName !== "") {
        validateObjectName(tls.secretName, "tls.secretName");
        if (mode !== "secret") {
            throw new InputError(
                "tls.secretName",
                `is set while tls.mode is "${mode}"`,
                'Unset one of them: a Secret name is for tls.mode "secret".',
            );
        }
    } else if (mode === "secret") {
        throw new InputError(
            "tls.secretName",
            'is needed for tls.mode "secret"',
            'Give the name of a kubernetes.io/tls Secret in the registry\'s namespace, or use tls.mode "generated".',
        );
    }
    const validityDays = validateDays(
        tls.validityDays ?? defaults.tlsValidityDays,
        825,
        "tls.validityDays",
        defaults.tlsValidityDays,
    );
    const caValidityDays = validateDays(
        tls.caValidityDays ?? defaults.tlsCaValidityDays,
        36500,
        "tls.caValidityDays",
        defaults.tlsCaValidityDays,
    );
    // The CA certificate in use always has a third of its validity left, so a server certificate that short never outlives it.
    if (validityDays * 3 > caValidityDays) {
        throw new InputError(
            "tls.caValidityDays",
            `${caValidityDays} days is less than three times tls.validityDays (${validityDays})`,
            `Give the CA at least ${validityDays * 3} days, or the server certificate at most ${Math.floor(caValidityDays / 3)}.`,
        );
    }
    return {
        mode,
        secretName: mode === "secret" ? tls.secretName : undefined,
        validityDays,
        caValidityDays,
    };
}

/** Checks the namespaces that get an image-pull Secret: plain, so the Secrets can be created one per namespace. */
export function imagePullSecretNamespacesFromArgs(namespaces: string[] = []): string[] {
    const seen = new Set<string>();
    namespaces.forEach((namespace, i) => {
        const input = `imagePullSecretNamespaces[${i}]`;
        validateNamespace(namespace, input);
        if (seen.has(namespace)) {
            throw new InputError(input, `"${namespace}" is listed twice`, "Give each namespace once.");
        }
        seen.add(namespace);
    });
    return namespaces;
}

const resourceKinds: Record<string, "cpu" | "memory" | "storage"> = {
    cpu: "cpu",
    memory: "memory",
    "ephemeral-storage": "storage",
};

/** Requests or limits: known resource names with quantities above zero. */
function validateResources(resources: Record<string, string>, input: string): Record<string, string> {
    for (const [key, value] of Object.entries(resources)) {
        const kind = resourceKinds[key];
        if (!kind) {
            throw new InputError(
                `${input}.${key}`,
                "is not a container resource",
                "Use cpu, memory or ephemeral-storage.",
            );
        }
        validateQuantity(value, kind, `${input}.${key}`);
    }
    return resources;
}

/** Checks the accounts: the main user first, then the extra ones; usernames must be unique. */
export function usersFromArgs(users: HtpasswdUser[]): HtpasswdUser[] {
    const seen = new Set<string>();
    users.forEach((u, i) => {
        const input = i === 0 ? "" : `extraUsers[${i - 1}].`;
        validateUsername(u.username, `${input}username`);
        validatePassword(u.password, `${input}password`);
        if (seen.has(u.username)) {
            throw new InputError(
                `${input}username`,
                `"${u.username}" is listed twice`,
                "Give each registry user once.",
            );
        }
        seen.add(u.username);
    });
    return users;
}

/** The validated inputs, as Outputs. Every child resource depends on `settings`, so a bad input stops them all. */
export interface ResolvedInputs {
    settings: pulumi.Output<RegistrySettings>;
    /** Secret: the accounts with their passwords. */
    users: pulumi.Output<HtpasswdUser[]>;
    address: pulumi.Output<string>;
}

export function resolveInputs(name: string, args: DistributionRegistryArgs): ResolvedInputs {
    const users = pulumi.secret(
        pulumi
            .all([
                { username: args.username, password: args.password },
                ...(args.extraUsers ?? []).map(u => ({ username: u.username, password: u.password })),
            ])
            .apply(all => usersFromArgs(all as HtpasswdUser[])),
    );
    // An IP address is not a secret even when Terraform marks it sensitive; keeping it secret would hide the Ingress and the hosts line.
    const address = pulumi.unsecret(pulumi.output(args.address).apply(a => validateAddress(a)));
    const {
        address: _a,
        username: _u,
        password: _p,
        extraUsers: _e,
        workstation: _w,
        verification: _v,
        imagePullSecretNamespaces: _n,
        ...settingsArgs
    } = args;
    const checked = pulumi.output(settingsArgs).apply(plain => settingsFromArgs(name, plain as PlainSettingsArgs));
    // The settings wait for the credential and address checks too, without taking on their secrecy.
    const usersChecked = pulumi.unsecret(users.apply(() => true));
    const settings = pulumi.all([checked, usersChecked, address]).apply(([s]) => s);
    return { settings, users, address };
}
