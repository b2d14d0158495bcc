import { DockerTrustMode, PushTool, StorageAccessMode, StorageType, SudoMode, TlsMode } from "../args";
import { defaults } from "../defaults";
import { defaultOutputNames, terraformDefaults } from "./terraformOutputs";

/*
 * The program's options: one row per stack config key. Reading the stack's config (stackConfig.ts), the `config:`
 * block of Pulumi.yaml and the configuration table of docs/configuration.md all come from this table (`npm run
 * options` writes the two files; a test fails when they differ from it). A default the component applies is read
 * from its defaults (defaults.ts), never written again here. Adding an option is a row here, the argument in
 * args.ts, the code that uses it, and its tests.
 */

/** The types Pulumi.yaml declares config with. */
export type ConfigType = "string" | "integer" | "boolean" | "array";

/** A value as stack config holds it. */
export type ConfigValue = string | number | boolean | string[];

export interface ConfigOption {
    /** The stack config key. */
    key: string;
    /** Where the value goes in DistributionRegistryArgs; none for what only the program reads (the Terraform source). */
    path?: string;
    type: ConfigType;
    /** The default as config holds it; none: unset, and `unset` says what that means. */
    default?: ConfigValue;
    /** What an unset key means, when it has no default of its own. */
    unset?: string;
    /** The values allowed: an enum of args.ts. */
    choices?: readonly string[];
    /** One line for Pulumi.yaml and the docs. */
    doc: string;
    /** Set it with `pulumi config set --secret`; read as a secret. */
    secret?: boolean;
    /** How the config value becomes the argument, when it is not the value itself. */
    toArgument?: "keyValueMap" | "images" | "fileText" | "zeroMeansUnset";
}

export interface OptionSection {
    title: string;
    options: ConfigOption[];
}

const choices = (e: Record<string, string>) => Object.values(e);

export const optionSections: OptionSection[] = [
    {
        title: "where the address and the credentials come from",
        options: [
            {
                key: "terraformDir",
                type: "string",
                default: terraformDefaults.dir,
                doc: "Terraform configuration that created the machine; `terraform -chdir=<dir> output -json` is run there.",
            },
            {
                key: "terraformStateFile",
                type: "string",
                unset: "run Terraform in terraformDir",
                doc: "A local Terraform/OpenTofu state file (format version 4) to read the outputs from instead of running Terraform.",
            },
            {
                key: "terraformBinary",
                type: "string",
                default: terraformDefaults.binary,
                doc: 'The Terraform binary; "tofu" for OpenTofu.',
            },
            {
                key: "terraformAddressOutput",
                type: "string",
                default: defaultOutputNames.address,
                doc: "Terraform output holding the machine's IP address.",
            },
            {
                key: "terraformUsernameOutput",
                type: "string",
                default: defaultOutputNames.username,
                doc: "Terraform output holding the registry username.",
            },
            {
                key: "terraformPasswordOutput",
                type: "string",
                default: defaultOutputNames.password,
                doc: "Terraform output holding the registry password (always treated as a secret).",
            },
            {
                key: "address",
                path: "address",
                type: "string",
                unset: "the Terraform output",
                doc: "The machine's IP address; when set, Terraform is not asked for it.",
            },
            {
                key: "username",
                path: "username",
                type: "string",
                unset: "the Terraform output",
                doc: "The registry username; when set, Terraform is not asked for it.",
            },
            {
                key: "password",
                path: "password",
                type: "string",
                unset: "the Terraform output",
                secret: true,
                doc: "The registry password; when set, Terraform is not asked for it.",
            },
        ],
    },
    {
        title: "the registry on Kubernetes",
        options: [
            {
                key: "hostname",
                path: "hostname",
                type: "string",
                default: defaults.hostname,
                doc: "DNS name of the registry (Ingress host, hosts entry, image prefix).",
            },
            {
                key: "port",
                path: "port",
                type: "integer",
                default: defaults.port,
                doc: "HTTPS port the ingress serves on, as clients reach it.",
            },
            {
                key: "namespace",
                path: "namespace",
                type: "string",
                default: defaults.namespace,
                doc: "Namespace of the registry's objects.",
            },
            {
                key: "createNamespace",
                path: "createNamespace",
                type: "boolean",
                default: defaults.createNamespace,
                doc: "Create the namespace (true) or use an existing one (false).",
            },
            {
                key: "image",
                path: "image",
                type: "string",
                default: defaults.image,
                doc: "Registry image; registry:2.8.x and registry:3.x both work.",
            },
            {
                key: "imageMajorVersion",
                path: "imageMajorVersion",
                type: "integer",
                default: 0,
                unset: "read from the image's tag",
                toArgument: "zeroMeansUnset",
                doc: "Major version of Distribution the image runs (2 or 3), where its tag does not say (a digest, latest); 0: read from the tag.",
            },
            {
                key: "replicas",
                path: "replicas",
                type: "integer",
                default: defaults.replicas,
                doc: "Number of registry pods; more than 1 needs storage they share: storageType s3, or a ReadWriteMany claim.",
            },
            {
                key: "storageType",
                path: "storage.type",
                type: "string",
                default: defaults.storage.type,
                choices: choices(StorageType),
                doc: "Where images live: a claim survives pod restarts; s3 is a bucket (s3Bucket) several replicas share; emptyDir is lost with the pod.",
            },
            {
                key: "storageSize",
                path: "storage.size",
                type: "string",
                default: defaults.storage.size,
                doc: "Size of the created PersistentVolumeClaim.",
            },
            {
                key: "storageClass",
                path: "storage.storageClassName",
                type: "string",
                unset: "the cluster's default class",
                doc: "Storage class of the created claim.",
            },
            {
                key: "storageAccessMode",
                path: "storage.accessMode",
                type: "string",
                default: defaults.storage.accessMode,
                choices: choices(StorageAccessMode),
                doc: "Access mode of the claim; replicas above 1 need ReadWriteMany.",
            },
            {
                key: "existingClaim",
                path: "storage.existingClaim",
                type: "string",
                unset: "a claim is created",
                doc: "Use this existing PersistentVolumeClaim instead of creating one.",
            },
            {
                key: "ingressClass",
                path: "ingress.className",
                type: "string",
                unset: "the cluster's default class (Traefik on k3s)",
                doc: "IngressClass name.",
            },
            {
                key: "ingressAnnotations",
                path: "ingress.annotations",
                type: "array",
                default: [],
                toArgument: "keyValueMap",
                doc: "Extra Ingress annotations as key=value, added to and overriding the ingress-nginx defaults.",
            },
            {
                key: "imagePullSecretNamespaces",
                path: "imagePullSecretNamespaces",
                type: "array",
                default: defaults.imagePullSecretNamespaces,
                doc: "Namespaces (existing) that get an image-pull Secret of the pull account, named by the imagePullSecretName output.",
            },
            {
                key: "pullUsername",
                path: "pullAccount.username",
                type: "string",
                unset: "<component name>-pull (registry-pull for this program)",
                doc: "Username of the account the image-pull Secrets carry; its password is generated and kept secret in state (htpasswd has no read-only user: it can push too).",
            },
            {
                key: "tls",
                path: "tls.mode",
                type: "string",
                default: defaults.tls.mode,
                choices: choices(TlsMode),
                doc: "The certificate: generated (a CA and certificate the stack makes, trusted by Docker, skopeo and the checks), secret (tlsSecretName), or ingressDefault (the controller's own, as in the seed).",
            },
            {
                key: "tlsSecretName",
                path: "tls.secretName",
                type: "string",
                unset: "none",
                doc: 'An existing kubernetes.io/tls Secret in the namespace, for tls "secret".',
            },
            {
                key: "tlsValidityDays",
                path: "tls.validityDays",
                type: "integer",
                default: defaults.tls.validityDays,
                doc: "Validity of the generated server certificate; the first pulumi up after two thirds of it renews it.",
            },
            {
                key: "tlsCaValidityDays",
                path: "tls.caValidityDays",
                type: "integer",
                default: defaults.tls.caValidityDays,
                doc: "Validity of the generated CA certificate (same key on renewal); at least three times tlsValidityDays.",
            },
            {
                key: "traefikReadTimeoutSeconds",
                path: "ingress.traefikReadTimeoutSeconds",
                type: "integer",
                default: 0,
                toArgument: "zeroMeansUnset",
                doc: "When above 0, a k3s HelmChartConfig gives Traefik's websecure entry point this readTimeout (Traefik cuts uploads after 60 s).",
            },
            {
                key: "bcryptCost",
                path: "bcryptCost",
                type: "integer",
                default: defaults.bcryptCost,
                doc: "bcrypt cost of the htpasswd hashes (4..31); every request pays it.",
            },
            {
                key: "cpuRequest",
                path: "resources.requests.cpu",
                type: "string",
                default: defaults.resources.requests.cpu,
                doc: "CPU request of the registry container.",
            },
            {
                key: "memoryRequest",
                path: "resources.requests.memory",
                type: "string",
                default: defaults.resources.requests.memory,
                doc: "Memory request of the registry container.",
            },
            {
                key: "memoryLimit",
                path: "resources.limits.memory",
                type: "string",
                default: defaults.resources.limits.memory,
                doc: "Memory limit of the registry container.",
            },
            {
                key: "gcSchedule",
                path: "garbageCollection.schedule",
                type: "string",
                default: defaults.garbageCollection.schedule,
                doc: 'Cron schedule of garbage collection (the registry is read-only meanwhile); "none" runs it only on demand (kubectl create job --from=cronjob/<name>-gc).',
            },
            {
                key: "gcDeleteUntagged",
                path: "garbageCollection.deleteUntagged",
                type: "boolean",
                default: defaults.garbageCollection.deleteUntagged,
                doc: "Garbage collection also deletes manifests no tag points at (registry 3.x only).",
            },
            {
                key: "gcKubectlImage",
                path: "garbageCollection.kubectlImage",
                type: "string",
                default: defaults.garbageCollection.kubectlImage,
                doc: "Image with a shell and kubectl that makes the registry read-only for garbage collection and writable again.",
            },
            {
                key: "skipAwait",
                path: "skipAwait",
                type: "boolean",
                default: defaults.skipAwait,
                doc: "Do not wait for the Deployment's rollout and the Ingress's address.",
            },
        ],
    },
    {
        title: "S3 storage, replicas, cache and metrics",
        options: [
            {
                key: "s3Bucket",
                path: "storage.s3.bucket",
                type: "string",
                unset: "none (needed for storageType s3)",
                doc: "The bucket the registry keeps its data in, for storageType s3; it must exist.",
            },
            {
                key: "s3Region",
                path: "storage.s3.region",
                type: "string",
                default: defaults.storage.s3.region,
                doc: "The bucket's region (servers other than AWS take any name).",
            },
            {
                key: "s3RegionEndpoint",
                path: "storage.s3.regionEndpoint",
                type: "string",
                unset: "AWS's endpoint for the region",
                doc: "URL of an S3-compatible server, e.g. http://10.96.0.20:8333 (scheme, host and port only).",
            },
            {
                key: "s3ForcePathStyle",
                path: "storage.s3.forcePathStyle",
                type: "boolean",
                default: defaults.storage.s3.forcePathStyle,
                doc: "Address the bucket in the URL's path, as most S3-compatible servers need (registry 2.8 does so whenever s3RegionEndpoint is set, whatever this says).",
            },
            {
                key: "s3RootDirectory",
                path: "storage.s3.rootDirectory",
                type: "string",
                unset: "the bucket's root",
                doc: "A prefix in the bucket under which the registry keeps everything, e.g. /registry.",
            },
            {
                key: "s3SkipVerify",
                path: "storage.s3.skipVerify",
                type: "boolean",
                default: defaults.storage.s3.skipVerify,
                doc: "Accept any certificate from an https s3RegionEndpoint.",
            },
            {
                key: "s3DisableRedirect",
                path: "storage.s3.disableRedirect",
                type: "boolean",
                default: defaults.storage.s3.disableRedirect,
                doc: "Serve blobs through the registry; false redirects clients to pre-signed S3 URLs, which they must then reach.",
            },
            {
                key: "s3AccessKey",
                path: "storage.s3.accessKey",
                type: "string",
                unset: "s3CredentialsSecret, or the SDK's default chain (an IAM role)",
                secret: true,
                doc: "S3 access key ID; it goes into the registry's Secret and reaches the pods from it.",
            },
            {
                key: "s3SecretKey",
                path: "storage.s3.secretKey",
                type: "string",
                unset: "s3CredentialsSecret, or the SDK's default chain (an IAM role)",
                secret: true,
                doc: "S3 secret access key, with s3AccessKey.",
            },
            {
                key: "s3CredentialsSecret",
                path: "storage.s3.credentialsSecret.name",
                type: "string",
                unset: "none",
                doc: "An existing Secret in the namespace holding the S3 keys, instead of s3AccessKey and s3SecretKey.",
            },
            {
                key: "s3CredentialsSecretAccessKeyKey",
                path: "storage.s3.credentialsSecret.accessKeyKey",
                type: "string",
                default: defaults.storage.s3.credentialsSecret.accessKeyKey,
                doc: "The key of s3CredentialsSecret that holds the access key ID (read as YAML by the registry: quote a value YAML would take for a number).",
            },
            {
                key: "s3CredentialsSecretSecretKeyKey",
                path: "storage.s3.credentialsSecret.secretKeyKey",
                type: "string",
                default: defaults.storage.s3.credentialsSecret.secretKeyKey,
                doc: "The key of s3CredentialsSecret that holds the secret access key.",
            },
            {
                key: "redisAddress",
                path: "redis.address",
                type: "string",
                unset: "no Redis: each pod caches blob descriptors in memory",
                doc: "host:port of an existing Redis the replicas share as their cache; it must run maxmemory-policy allkeys-lru.",
            },
            {
                key: "redisPassword",
                path: "redis.password",
                type: "string",
                unset: "redisPasswordSecret, or no password",
                secret: true,
                doc: "The Redis's password; it goes into the registry's Secret and reaches the pods from it.",
            },
            {
                key: "redisPasswordSecret",
                path: "redis.passwordSecret.name",
                type: "string",
                unset: "none",
                doc: "An existing Secret in the namespace holding the Redis password, instead of redisPassword.",
            },
            {
                key: "redisPasswordSecretKey",
                path: "redis.passwordSecret.key",
                type: "string",
                default: defaults.redis.passwordSecret.key,
                doc: "The key of redisPasswordSecret that holds the password.",
            },
            {
                key: "redisDb",
                path: "redis.db",
                type: "integer",
                default: defaults.redis.db,
                doc: "The Redis database number.",
            },
            {
                key: "metrics",
                path: "metrics.enabled",
                type: "boolean",
                default: defaults.metrics.enabled,
                doc: "Prometheus metrics on the debug port: a Service port named metrics (no Ingress routes to it) and scrape annotations on the pods.",
            },
            {
                key: "metricsPort",
                path: "metrics.port",
                type: "integer",
                default: defaults.metrics.port,
                doc: "The debug port (it also serves /debug/pprof and /debug/vars, unauthenticated, inside the cluster).",
            },
            {
                key: "serviceMonitor",
                path: "metrics.serviceMonitor",
                type: "boolean",
                default: defaults.metrics.serviceMonitor,
                doc: "A monitoring.coreos.com/v1 ServiceMonitor for the Prometheus Operator (its CRDs must be installed); needs metrics.",
            },
        ],
    },
    {
        title: "the cluster pulling from it",
        options: [
            {
                key: "nodeTrust",
                path: "nodeTrust.enabled",
                type: "boolean",
                default: defaults.nodeTrust.enabled,
                doc: "A DaemonSet makes every node resolve and trust the registry (containerd's hosts.toml with the CA, a hosts line), no restart; removed with it.",
            },
            {
                key: "nodeTrustCertsDir",
                path: "nodeTrust.certsDir",
                type: "string",
                default: defaults.nodeTrust.certsDir,
                doc: "containerd's certs directory (config_path) on the nodes: k3s's by default; plain containerd's is /etc/containerd/certs.d.",
            },
            {
                key: "nodeTrustHostsFile",
                path: "nodeTrust.hostsFile",
                type: "string",
                default: defaults.nodeTrust.hostsFile,
                doc: "The nodes' hosts file, which gets <address> <hostname> marked as this stack's.",
            },
            {
                key: "localRegistryHosting",
                path: "localRegistryHosting.enabled",
                type: "boolean",
                default: defaults.localRegistryHosting.enabled,
                doc: "Write KEP-1755's ConfigMap kube-public/local-registry-hosting (tools such as Tilt find the registry there); one registry per cluster can.",
            },
            {
                key: "localRegistryHostingHelp",
                path: "localRegistryHosting.help",
                type: "string",
                default: defaults.localRegistryHosting.help,
                doc: "The help URL in that ConfigMap.",
            },
        ],
    },
    {
        title: "the workstation",
        options: [
            {
                key: "hostsEntry",
                path: "workstation.hostsEntry.enabled",
                type: "boolean",
                default: defaults.workstation.hostsEntry.enabled,
                doc: "Add <address> <hostname> to the hosts file (false: hosts are managed elsewhere).",
            },
            {
                key: "hostsFile",
                path: "workstation.hostsEntry.file",
                type: "string",
                default: defaults.workstation.hostsEntry.file,
                doc: "The hosts file to edit.",
            },
            {
                key: "hostsSudo",
                path: "workstation.hostsEntry.sudo",
                type: "string",
                default: defaults.workstation.hostsEntry.sudo,
                choices: choices(SudoMode),
                doc: "When to write the hosts file through `sudo -n`: auto means only when it is not writable.",
            },
            {
                key: "dockerTrust",
                path: "workstation.dockerTrust.mode",
                type: "string",
                unset: "what tls needs: ca for generated, insecure for ingressDefault, for secret ca with dockerCaFile, else none",
                choices: choices(DockerTrustMode),
                doc: "How Docker trusts the registry: ca writes certs.d/<host>/ca.crt (no restart), insecure lists it in daemon.json.",
            },
            {
                key: "dockerDaemonConfig",
                path: "workstation.dockerTrust.daemonConfig",
                type: "string",
                unset: "/etc/docker/daemon.json, or ~/.docker/daemon.json on macOS",
                doc: "Docker's daemon.json.",
            },
            {
                key: "dockerCertsDir",
                path: "workstation.dockerTrust.certsDir",
                type: "string",
                unset: "/etc/docker/certs.d, or ~/.docker/certs.d on macOS",
                doc: "Docker's certificate directory.",
            },
            {
                key: "dockerCaFile",
                path: "workstation.dockerTrust.caCertificate",
                type: "string",
                unset: "none",
                toArgument: "fileText",
                doc: "PEM file of the CA that signed the registry's certificate, for dockerTrust ca with tls secret or ingressDefault (tls generated brings its own).",
            },
            {
                key: "dockerRestartCommand",
                path: "workstation.dockerTrust.restartCommand",
                type: "array",
                default: defaults.workstation.dockerTrust.restartCommand,
                doc: "Command (argv, no shell) run after daemon.json changes, e.g. [sudo, systemctl, restart, docker].",
            },
            {
                key: "dockerSudo",
                path: "workstation.dockerTrust.sudo",
                type: "string",
                default: defaults.workstation.dockerTrust.sudo,
                choices: choices(SudoMode),
                doc: "When to write daemon.json and certs.d through `sudo -n`.",
            },
            {
                key: "pushEnabled",
                path: "workstation.push.enabled",
                type: "boolean",
                default: defaults.workstation.push.enabled,
                doc: "Log in and push the images (false: a machine without Docker or skopeo).",
            },
            {
                key: "pushTool",
                path: "workstation.push.tool",
                type: "string",
                default: defaults.workstation.push.tool,
                choices: choices(PushTool),
                doc: "What pushes: docker (pull, tag, login, push) or skopeo (a daemonless copy).",
            },
            {
                key: "pushImages",
                path: "workstation.push.images",
                type: "array",
                default: defaults.workstation.push.images.map(i => i.source),
                toArgument: "images",
                doc: 'Images to push, each "source" or "source=repository:tag".',
            },
            {
                key: "pushPlatform",
                path: "workstation.push.platform",
                type: "string",
                default: defaults.workstation.push.platform,
                doc: "Platform pulled for each image.",
            },
        ],
    },
    {
        title: "the verification",
        options: [
            {
                key: "verify",
                path: "verification.enabled",
                type: "boolean",
                default: defaults.verification.enabled,
                doc: "Check through the registry API that every pushed image is served.",
            },
            {
                key: "verifyDeadlineSeconds",
                path: "verification.deadlineSeconds",
                type: "integer",
                default: defaults.verification.deadlineSeconds,
                doc: "How long the checks keep retrying while the registry and its ingress come up.",
            },
            {
                key: "deleteRemovedImages",
                path: "verification.deleteRemovedImages",
                type: "boolean",
                default: defaults.verification.deleteRemovedImages,
                doc: "Delete, by digest, the manifest of an image removed from pushImages (never one a tag this stack did not push points at).",
            },
        ],
    },
];

/** Every option, in the table's order. */
export const options: ConfigOption[] = optionSections.flatMap(s => s.options);

/** The row of a config key; a key the table does not have is a bug of ours. */
export function option(key: string): ConfigOption {
    const found = options.find(o => o.key === key);
    if (!found) {
        throw new Error(`no config option "${key}" in program/options.ts`);
    }
    return found;
}
