import * as pulumi from "@pulumi/pulumi";
import { DistributionRegistryArgs, StorageAccessMode, StorageType, TlsMode } from "./args";
import { defaultPullUsername, defaults, noSchedule } from "./defaults";
import { objectName } from "./naming";
import { asYamlString, containerPort, redisPasswordKey, s3AccessKeyKey, s3SecretKeyKey } from "./registryConfig";
import { HtpasswdUser } from "./htpasswd";
import { planRegistry, RegistryPlan } from "./plan";
import { majorVersionOfImage, RegistryMajorVersion } from "./registryVersion";
import {
    InputError,
    validateAddress,
    validateBcryptCost,
    validateChoice,
    validateDays,
    validateHostname,
    validateImage,
    validateCronSchedule,
    validateHelpUrl,
    validateMajorVersion,
    validateNamespace,
    validateNodePath,
    validateObjectName,
    validatePassword,
    validatePort,
    validateQuantity,
    validateReplicas,
    validateSeconds,
    validateUsername,
    validateBucket,
    validateEndpoint,
    validateRedisAddress,
    validateRedisDb,
    validateRegion,
    validateRootDirectory,
    validateSecretKey,
    validateSecretValue,
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
    /** Read from the image's tag, or given (imageMajorVersion); none when neither tells. */
    imageMajorVersion?: RegistryMajorVersion;
    replicas: number;
    storage: {
        type: StorageType;
        size: string;
        storageClassName?: string;
        accessMode: StorageAccessMode;
        existingClaim?: string;
        /** The bucket, for type "s3". */
        s3?: S3Settings;
    };
    /** The Redis the replicas cache blob descriptors in; none: each pod caches in memory. */
    redis?: { address: string; db: number; password?: SecretKeyRef };
    metrics: { enabled: boolean; port: number; serviceMonitor: boolean };
    ingress: {
        className?: string;
        annotations: Record<string, string>;
        /** k3s's Traefik websecure readTimeout to render in a HelmChartConfig; none: leave Traefik alone. */
        traefikReadTimeoutSeconds?: number;
    };
    tls: {
        mode: TlsMode;
        /** The user's Secret ("secret"); the generated one is named when it is created, and none means the controller's default. */
        secretName?: string;
        validityDays: number;
        caValidityDays: number;
    };
    bcryptCost: number;
    garbageCollection: {
        /** The CronJob's schedule; none: it is suspended, and runs only when a Job is made from it. */
        schedule?: string;
        deleteUntagged: boolean;
        kubectlImage: string;
    };
    /** The account the image-pull Secrets carry; its password is generated (workload.ts). */
    pullUsername: string;
    resources: { requests: Record<string, string>; limits: Record<string, string> };
    labels: Record<string, string>;
    skipAwait: boolean;
    /** Where the node-trust DaemonSet writes on every node (when the plan runs it). */
    nodeTrust: { certsDir: string; hostsFile: string };
    /** The help URL of the KEP-1755 ConfigMap (when the plan writes it). */
    localRegistryHosting: { help: string };
}

/** A key of a Secret in the registry's namespace (the registry's own, or the user's), as an env var reads it. */
export interface SecretKeyRef {
    name: string;
    key: string;
}

export interface S3Settings {
    bucket: string;
    region: string;
    regionEndpoint?: string;
    forcePathStyle: boolean;
    rootDirectory?: string;
    skipVerify: boolean;
    disableRedirect: boolean;
    /** Where the keys come from; none: the SDK's default chain (an IAM role). */
    credentials?: { accessKey: SecretKeyRef; secretKey: SecretKeyRef };
}

/**
 * The plain (already resolved) form of the arguments that settle the Kubernetes objects. The secret inputs may be in
 * it (a caller rendering a config passes them so the plan knows they are given); settingsFromArgs never reads them.
 */
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

/** Storage every replica can write at once: a bucket, or a ReadWriteMany claim. What several replicas need. */
export function isSharedStorage(storage: { type: StorageType; accessMode: StorageAccessMode }): boolean {
    return (
        storage.type === StorageType.S3 ||
        (storage.type === StorageType.PersistentVolumeClaim && storage.accessMode === StorageAccessMode.ReadWriteMany)
    );
}

/**
 * Applies defaults and checks every value; throws InputError naming the first bad input. The plan is the component's;
 * a caller with only these arguments (a test rendering a config) gets the plan they make.
 */
export function settingsFromArgs(
    name: string,
    args: PlainSettingsArgs,
    plan: RegistryPlan = planRegistry(name, args as DistributionRegistryArgs),
): RegistrySettings {
    const storageArgs = args.storage ?? {};
    if (storageArgs.existingClaim !== undefined) {
        validateObjectName(storageArgs.existingClaim, "storage.existingClaim");
        if (storageArgs.type === StorageType.EmptyDir || storageArgs.type === StorageType.S3) {
            throw new InputError(
                "storage.existingClaim",
                `is set while storage.type is "${storageArgs.type}"`,
                'Unset one of them: the claim is storage of type "persistentVolumeClaim".',
            );
        }
    }
    if (plan.storage.type !== StorageType.S3) {
        const stray =
            storageArgs.s3?.bucket !== undefined
                ? "storage.s3.bucket"
                : plan.secretInputs.s3AccessKey || plan.secretInputs.s3SecretKey
                  ? "storage.s3.accessKey"
                  : undefined;
        if (stray) {
            throw new InputError(
                stray,
                `is set while storage.type is "${plan.storage.type}"`,
                'Set storage.type "s3" to keep the images in the bucket, or unset it.',
            );
        }
    }
    if (storageArgs.storageClassName !== undefined) {
        validateObjectName(storageArgs.storageClassName, "storage.storageClassName");
    }
    const accessMode = validateChoice(
        storageArgs.accessMode ?? defaults.storage.accessMode,
        StorageAccessMode,
        "storage.accessMode",
    );
    const size = validateQuantity(storageArgs.size ?? defaults.storage.size, "storage", "storage.size");
    const image = validateImage(args.image ?? defaults.image);
    const imageMajorVersion =
        args.imageMajorVersion === undefined
            ? majorVersionOfImage(image)
            : validateMajorVersion(args.imageMajorVersion);
    // An existing claim's access mode is not known here: trust the user's accessMode for it.
    const storageShared = isSharedStorage({ type: plan.storage.type, accessMode });
    return {
        name,
        hostname: validateHostname(args.hostname ?? defaults.hostname),
        port: validatePort(args.port ?? defaults.port),
        namespace: validateNamespace(args.namespace ?? defaults.namespace),
        createNamespace: plan.createNamespace,
        image,
        imageMajorVersion,
        replicas: validateReplicas(args.replicas ?? defaults.replicas, storageShared),
        storage: {
            type: plan.storage.type,
            size,
            storageClassName: storageArgs.storageClassName,
            accessMode,
            existingClaim: storageArgs.existingClaim,
            ...(plan.storage.type === StorageType.S3 ? { s3: s3Settings(name, storageArgs.s3 ?? {}, plan) } : {}),
        },
        ...redisSettings(name, args, plan, imageMajorVersion),
        metrics: metricsSettings(args.metrics ?? {}),
        ingress: {
            className: args.ingress?.className,
            annotations: args.ingress?.annotations ?? {},
            traefikReadTimeoutSeconds:
                args.ingress?.traefikReadTimeoutSeconds === undefined
                    ? undefined
                    : validateSeconds(args.ingress.traefikReadTimeoutSeconds, "ingress.traefikReadTimeoutSeconds", 600),
        },
        tls: tlsSettings(args.tls ?? {}, plan.tlsMode),
        bcryptCost: validateBcryptCost(args.bcryptCost ?? defaults.bcryptCost),
        garbageCollection: garbageCollectionSettings(args.garbageCollection ?? {}, image, imageMajorVersion),
        pullUsername: validateUsername(args.pullAccount?.username ?? defaultPullUsername(name), "pullAccount.username"),
        resources: {
            requests: validateResources(args.resources?.requests ?? defaults.resources.requests, "resources.requests"),
            limits: validateResources(args.resources?.limits ?? defaults.resources.limits, "resources.limits"),
        },
        labels: args.labels ?? {},
        skipAwait: args.skipAwait ?? defaults.skipAwait,
        nodeTrust: {
            certsDir: validateNodePath(
                args.nodeTrust?.certsDir ?? defaults.nodeTrust.certsDir,
                "nodeTrust.certsDir",
                defaults.nodeTrust.certsDir,
            ),
            hostsFile: validateNodePath(
                args.nodeTrust?.hostsFile ?? defaults.nodeTrust.hostsFile,
                "nodeTrust.hostsFile",
                defaults.nodeTrust.hostsFile,
            ),
        },
        localRegistryHosting: {
            help: validateHelpUrl(
                args.localRegistryHosting?.help ?? defaults.localRegistryHosting.help,
                "localRegistryHosting.help",
            ),
        },
    };
}

type PlainS3Args = NonNullable<NonNullable<PlainSettingsArgs["storage"]>["s3"]>;

/** The bucket and its keys: given as inputs (into the registry's Secret), in the user's Secret, or neither (IAM). */
function s3Settings(name: string, s3: PlainS3Args, plan: RegistryPlan): S3Settings {
    const d = defaults.storage.s3;
    if (s3.bucket === undefined) {
        throw new InputError(
            "storage.s3.bucket",
            'is needed for storage type "s3"',
            "Give the name of an existing bucket (the registry does not make it).",
        );
    }
    const secretName = s3.credentialsSecret?.name;
    if (plan.secretInputs.s3AccessKey !== plan.secretInputs.s3SecretKey) {
        const missing = plan.secretInputs.s3AccessKey ? "storage.s3.secretKey" : "storage.s3.accessKey";
        throw new InputError(missing, "is needed with the other key", "Give both S3 keys, or neither.");
    }
    if (plan.secretInputs.s3AccessKey && secretName !== undefined) {
        throw new InputError(
            "storage.s3.credentialsSecret.name",
            "is set while storage.s3.accessKey and storage.s3.secretKey are given",
            "Give the keys one way: as inputs, or in an existing Secret.",
        );
    }
    const keyRef = (key: string) => ({ name: objectName(name), key });
    let credentials: S3Settings["credentials"];
    if (plan.secretInputs.s3AccessKey) {
        credentials = { accessKey: keyRef(s3AccessKeyKey), secretKey: keyRef(s3SecretKeyKey) };
    } else if (secretName !== undefined) {
        const secret = validateObjectName(secretName, "storage.s3.credentialsSecret.name");
        const accessKeyKey = s3.credentialsSecret?.accessKeyKey ?? d.credentialsSecret.accessKeyKey;
        const secretKeyKey = s3.credentialsSecret?.secretKeyKey ?? d.credentialsSecret.secretKeyKey;
        credentials = {
            accessKey: {
                name: secret,
                key: validateSecretKey(accessKeyKey, "storage.s3.credentialsSecret.accessKeyKey"),
            },
            secretKey: {
                name: secret,
                key: validateSecretKey(secretKeyKey, "storage.s3.credentialsSecret.secretKeyKey"),
            },
        };
    }
    return {
        bucket: validateBucket(s3.bucket, "storage.s3.bucket"),
        region: validateRegion(s3.region ?? d.region, "storage.s3.region"),
        regionEndpoint:
            s3.regionEndpoint === undefined
                ? undefined
                : validateEndpoint(s3.regionEndpoint, "storage.s3.regionEndpoint"),
        forcePathStyle: s3.forcePathStyle ?? d.forcePathStyle,
        rootDirectory:
            s3.rootDirectory === undefined
                ? undefined
                : validateRootDirectory(s3.rootDirectory, "storage.s3.rootDirectory"),
        skipVerify: s3.skipVerify ?? d.skipVerify,
        disableRedirect: s3.disableRedirect ?? d.disableRedirect,
        credentials,
    };
}

/** The Redis, when an address is given; its block differs between the major versions, so one must be known. */
function redisSettings(
    name: string,
    args: PlainSettingsArgs,
    plan: RegistryPlan,
    imageMajorVersion: RegistryMajorVersion | undefined,
): Pick<RegistrySettings, "redis"> {
    const redis = args.redis ?? {};
    const secretName = redis.passwordSecret?.name;
    if (redis.address === undefined) {
        const stray = plan.secretInputs.redisPassword
            ? "redis.password"
            : secretName !== undefined
              ? "redis.passwordSecret.name"
              : undefined;
        if (stray) {
            throw new InputError(stray, "is set without redis.address", "Give the Redis's address, or unset it.");
        }
        return {};
    }
    const address = validateRedisAddress(redis.address, "redis.address");
    if (imageMajorVersion === undefined) {
        throw new InputError(
            "imageMajorVersion",
            `is needed with redis: the image "${args.image}" does not tell its major version, and 2.x and 3.x read the redis block in different shapes`,
            "Give 2 for a registry:2.x image or 3 for registry:3.x, or an image whose tag starts with its version.",
        );
    }
    if (plan.secretInputs.redisPassword && secretName !== undefined) {
        throw new InputError(
            "redis.passwordSecret.name",
            "is set while redis.password is given",
            "Give the password one way: as an input, or in an existing Secret.",
        );
    }
    const password = plan.secretInputs.redisPassword
        ? { name: objectName(name), key: redisPasswordKey }
        : secretName !== undefined
          ? {
                name: validateObjectName(secretName, "redis.passwordSecret.name"),
                key: validateSecretKey(
                    redis.passwordSecret?.key ?? defaults.redis.passwordSecret.key,
                    "redis.passwordSecret.key",
                ),
            }
          : undefined;
    return { redis: { address, db: validateRedisDb(redis.db ?? defaults.redis.db, "redis.db"), password } };
}

function metricsSettings(metrics: NonNullable<PlainSettingsArgs["metrics"]>): RegistrySettings["metrics"] {
    const enabled = metrics.enabled ?? defaults.metrics.enabled;
    const serviceMonitor = metrics.serviceMonitor ?? defaults.metrics.serviceMonitor;
    const port = validatePort(metrics.port ?? defaults.metrics.port, "metrics.port");
    if (port === containerPort) {
        throw new InputError(
            "metrics.port",
            `${port} is the registry's own port, which the Ingress routes to`,
            `Use another port, e.g. ${defaults.metrics.port} (the default): metrics must stay out of the Ingress.`,
        );
    }
    if (serviceMonitor && !enabled) {
        throw new InputError(
            "metrics.serviceMonitor",
            "is set while metrics.enabled is false",
            "Set metrics.enabled true too: a ServiceMonitor scrapes the metrics port.",
        );
    }
    return { enabled, port, serviceMonitor };
}

/** The secret inputs, by what they are. */
export interface SecretInputValues {
    s3AccessKey?: string;
    s3SecretKey?: string;
    redisPassword?: string;
}

const secretInputKeys: [keyof SecretInputValues, string, string][] = [
    ["s3AccessKey", s3AccessKeyKey, "storage.s3.accessKey"],
    ["s3SecretKey", s3SecretKeyKey, "storage.s3.secretKey"],
    ["redisPassword", redisPasswordKey, "redis.password"],
];

/** The secret inputs as the registry's Secret holds them: by key, quoted for the registry's YAML reading of the environment. */
export function secretInputEntries(values: SecretInputValues): Record<string, string> {
    return Object.fromEntries(
        secretInputKeys
            .filter(([what]) => values[what] !== undefined)
            .map(([what, key, input]) => [key, asYamlString(validateSecretValue(values[what], input))]),
    );
}

/** secretInputEntries of the arguments, each checked once it is known; secret, whatever came in. */
export function secretInputsOf(args: DistributionRegistryArgs): pulumi.Output<Record<string, string>> {
    return pulumi.secret(
        pulumi
            .all({
                s3AccessKey: args.storage?.s3?.accessKey,
                s3SecretKey: args.storage?.s3?.secretKey,
                redisPassword: args.redis?.password,
            })
            .apply(values => secretInputEntries(values)),
    );
}

/** The certificate's source, as the plan decided it: "secret" needs a Secret name, and only "secret" takes one. */
function tlsSettings(tls: NonNullable<PlainSettingsArgs["tls"]>, mode: TlsMode): RegistrySettings["tls"] {
    if (tls.secretName !== undefined && tls.secretName !== "") {
        validateObjectName(tls.secretName, "tls.secretName");
        if (mode !== TlsMode.Secret) {
            throw new InputError(
                "tls.secretName",
                `is set while tls.mode is "${mode}"`,
                'Unset one of them: a Secret name is for tls.mode "secret".',
            );
        }
    } else if (mode === TlsMode.Secret) {
        throw new InputError(
            "tls.secretName",
            'is needed for tls.mode "secret"',
            'Give the name of a kubernetes.io/tls Secret in the registry\'s namespace, or use tls.mode "generated".',
        );
    }
    const validityDays = validateDays(
        tls.validityDays ?? defaults.tls.validityDays,
        825,
        "tls.validityDays",
        defaults.tls.validityDays,
    );
    const caValidityDays = validateDays(
        tls.caValidityDays ?? defaults.tls.caValidityDays,
        36500,
        "tls.caValidityDays",
        defaults.tls.caValidityDays,
    );
    // The CA certificate in use always has a third of its validity left, so a server certificate that short never outlives it.
    if (validityDays * 3 > caValidityDays) {
        throw new InputError(
            "tls.caValidityDays",
            `${caValidityDays} days is less than three times tls.validityDays (${validityDays})`,
            `Give the CA at least ${validityDays * 3} days, or the server certificate at most ${Math.floor(caValidityDays / 3)}.`,
        );
    }
    return { mode, secretName: mode === TlsMode.Secret ? tls.secretName : undefined, validityDays, caValidityDays };
}

/** The schedule ("none": on demand only), and untagged manifests deleted only where Distribution does it right. */
function garbageCollectionSettings(
    gc: NonNullable<PlainSettingsArgs["garbageCollection"]>,
    image: string,
    imageMajorVersion: RegistryMajorVersion | undefined,
): RegistrySettings["garbageCollection"] {
    const schedule = gc.schedule ?? defaults.garbageCollection.schedule;
    const deleteUntagged = gc.deleteUntagged ?? defaults.garbageCollection.deleteUntagged;
    if (deleteUntagged && imageMajorVersion !== 3) {
        throw new InputError(
            "garbageCollection.deleteUntagged",
            imageMajorVersion === 2
                ? `is refused for ${image}: registry 2.x deletes the per-platform manifests of multi-arch images with it (distribution/distribution#3178, fixed in 3.0.0)`
                : `needs registry 3.x, and the tag of ${image} does not say which major version it runs`,
            imageMajorVersion === 2
                ? "Use a registry:3 image, or leave deleteUntagged off (untagged manifests then stay)."
                : "Set imageMajorVersion to 3 if the image runs registry 3.x.",
        );
    }
    return {
        schedule: schedule === noSchedule ? undefined : validateCronSchedule(schedule, "garbageCollection.schedule"),
        deleteUntagged,
        kubectlImage: validateImage(
            gc.kubectlImage ?? defaults.garbageCollection.kubectlImage,
            "garbageCollection.kubectlImage",
            `"${defaults.garbageCollection.kubectlImage}"`,
        ),
    };
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

/**
 * Checks the accounts: the main user first, then the extra ones; usernames must be unique, and none may take the
 * pull account's name (the stack adds that account itself). A value not known yet (an Output, before `up` resolves
 * it) is undefined and checked later.
 */
export function checkAccounts(users: { username?: string; password?: string }[], pullUsername?: string): void {
    const seen = new Set<string>();
    users.forEach((u, i) => {
        const input = i === 0 ? "" : `extraUsers[${i - 1}].`;
        if (u.username !== undefined) {
            validateUsername(u.username, `${input}username`);
        }
        if (u.password !== undefined) {
            validatePassword(u.password, `${input}password`);
        }
        if (u.username === undefined) {
            return;
        }
        if (seen.has(u.username)) {
            throw new InputError(
                `${input}username`,
                `"${u.username}" is listed twice`,
                "Give each registry user once.",
            );
        }
        if (u.username === pullUsername) {
            throw new InputError(
                `${input}username`,
                `"${u.username}" is the pull account's username`,
                "Give one of the two accounts another username.",
            );
        }
        seen.add(u.username);
    });
}

/** The accounts, checked (checkAccounts). */
export function usersFromArgs(users: HtpasswdUser[], pullUsername?: string): HtpasswdUser[] {
    checkAccounts(users, pullUsername);
    return users;
}

/** The validated inputs, as Outputs. Every child resource depends on `settings`, so a bad input stops them all. */
export interface ResolvedInputs {
    settings: pulumi.Output<RegistrySettings>;
    /** Secret: the accounts with their passwords. */
    users: pulumi.Output<HtpasswdUser[]>;
    address: pulumi.Output<string>;
    /** Secret: the S3 keys and Redis password given as inputs, by their key in the registry's Secret. */
    secretInputs: pulumi.Output<Record<string, string>>;
}

/**
 * The arguments that settle the Kubernetes objects: all but the credentials, the workstation's and the checks', and
 * the secret inputs (S3 keys, Redis password), which only the registry's Secret holds: the plan says they are given.
 */
export function settingsArgsOf(args: DistributionRegistryArgs) {
    const {
        address: _a,
        username: _u,
        password: _p,
        extraUsers: _e,
        workstation: _w,
        verification: _v,
        imagePullSecretNamespaces: _n,
        storage,
        redis,
        ...settingsArgs
    } = args;
    const { accessKey: _ak, secretKey: _sk, ...s3 } = storage?.s3 ?? {};
    const { password: _rp, ...redisArgs } = redis ?? {};
    return {
        ...settingsArgs,
        ...(storage ? { storage: { ...storage, ...(storage.s3 ? { s3 } : {}) } } : {}),
        ...(redis ? { redis: redisArgs } : {}),
    };
}

export function resolveInputs(name: string, args: DistributionRegistryArgs, plan: RegistryPlan): ResolvedInputs {
    // The extra users may come as one Output (a YAML stack passing a secret), or with Outputs inside.
    const users = pulumi.secret(
        pulumi
            .all([{ username: args.username, password: args.password }, pulumi.output(args.extraUsers ?? [])])
            .apply(([main, extra]) =>
                usersFromArgs(
                    [main, ...extra.map(u => ({ username: u.username, password: u.password }))],
                    args.pullAccount?.username ?? defaultPullUsername(name),
                ),
            ),
    );
    // An IP address is not a secret even when Terraform marks it sensitive; keeping it secret would hide the Ingress and the hosts line.
    const address = pulumi.unsecret(pulumi.output(args.address).apply(a => validateAddress(a)));
    const checked = pulumi
        .output(settingsArgsOf(args))
        .apply(plain => settingsFromArgs(name, plain as PlainSettingsArgs, plan));
    // The settings wait for the credential and address checks too, without taking on their secrecy.
    const usersChecked = pulumi.unsecret(users.apply(() => true));
    const secretInputs = secretInputsOf(args);
    const secretsChecked = pulumi.unsecret(secretInputs.apply(() => true));
    const settings = pulumi.all([checked, usersChecked, address, secretsChecked]).apply(([s]) => s);
    return { settings, users, address, secretInputs };
}
