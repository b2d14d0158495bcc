import * as pulumi from "@pulumi/pulumi";

// The string choices are enums for the schema that other Pulumi languages use (it takes no union but
// `T | undefined`). Each is a const object with a type of the same name: TypeScript callers may pass the
// member (`SudoMode.Never`) or, as before, the string ("never").

/** Where the registry keeps image data. */
export const StorageType = {
    /** A directory that lives and dies with the pod. */
    EmptyDir: "emptyDir",
    /** A PersistentVolumeClaim (created, or an existing one). */
    PersistentVolumeClaim: "persistentVolumeClaim",
    /** A bucket of an S3-compatible object store (storage.s3): the storage several replicas share. */
    S3: "s3",
} as const;
export type StorageType = (typeof StorageType)[keyof typeof StorageType];

/** Access mode of a PersistentVolumeClaim. */
export const StorageAccessMode = {
    ReadWriteOnce: "ReadWriteOnce",
    ReadWriteMany: "ReadWriteMany",
    ReadWriteOncePod: "ReadWriteOncePod",
} as const;
export type StorageAccessMode = (typeof StorageAccessMode)[keyof typeof StorageAccessMode];

/** When a workstation script writes a file through `sudo -n`. */
export const SudoMode = {
    /** Only when the file is not writable by the user. */
    Auto: "auto",
    Always: "always",
    Never: "never",
} as const;
export type SudoMode = (typeof SudoMode)[keyof typeof SudoMode];

/** Where the certificate the Ingress serves comes from. */
export const TlsMode = {
    /** A CA and a server certificate the stack generates, keys kept in state; clients trust the CA. */
    Generated: "generated",
    /** An existing kubernetes.io/tls Secret (`tls.secretName`). */
    Secret: "secret",
    /** The ingress controller's default certificate (self-signed on k3s), as in the seed. */
    IngressDefault: "ingressDefault",
} as const;
export type TlsMode = (typeof TlsMode)[keyof typeof TlsMode];

/** How Docker comes to trust the registry's certificate. */
export const DockerTrustMode = {
    /** daemon.json `insecure-registries`, as in the seed. */
    Insecure: "insecure",
    /** The CA in certs.d/<host>/ca.crt (no daemon restart): the generated one, or `caCertificate`. */
    Ca: "ca",
    /** Leave Docker alone. */
    None: "none",
} as const;
export type DockerTrustMode = (typeof DockerTrustMode)[keyof typeof DockerTrustMode];

/** The tool that copies images into the registry. */
export const PushTool = {
    /** pull, tag, login, push, as in the seed. */
    Docker: "docker",
    /** A daemonless copy. */
    Skopeo: "skopeo",
} as const;
export type PushTool = (typeof PushTool)[keyof typeof PushTool];

/** A registry account in the htpasswd file. */
export interface RegistryUser {
    /** Login name; may not be empty or contain ":". */
    username: pulumi.Input<string>;
    /** Password; any characters on one line (docker login --password-stdin reads one line), at most 72 bytes, kept secret. */
    password: pulumi.Input<string>;
}

/** Where the registry keeps image data. */
export interface StorageArgs {
    /** "persistentVolumeClaim" (survives pod restarts and rollouts), "s3" (a bucket, storage.s3) or "emptyDir" (lost with the pod). Default: "persistentVolumeClaim". */
    type?: StorageType;
    /** Size of the claim created for "persistentVolumeClaim". Default: "10Gi". */
    size?: pulumi.Input<string>;
    /** Storage class of the created claim. Default: the cluster's default class. */
    storageClassName?: pulumi.Input<string>;
    /** Access mode of the created claim; more than one replica needs "ReadWriteMany". Default: "ReadWriteOnce". */
    accessMode?: pulumi.Input<StorageAccessMode>;
    /** Use this existing claim instead of creating one (implies "persistentVolumeClaim"). Default: none. */
    existingClaim?: string;
    /** The bucket, for storage type "s3". Default: the defaults of S3StorageArgs (a bucket must be named). */
    s3?: S3StorageArgs;
}

/** A bucket of an S3-compatible object store (AWS S3, SeaweedFS, Ceph RGW, MinIO...) the registry keeps its data in. */
export interface S3StorageArgs {
    /** The bucket; it must exist (the registry does not make it). Required for storage type "s3". Default: none. */
    bucket?: string;
    /** The region the bucket is in (servers other than AWS take any name). Default: "us-east-1". */
    region?: string;
    /** URL of an S3-compatible server, e.g. "http://10.96.0.20:8333" or "https://s3.example.com". Default: none (AWS's endpoint for the region). */
    regionEndpoint?: string;
    /** Address the bucket in the path (https://host/bucket), as most S3-compatible servers need; false: as a host name (https://bucket.host). Default: true. */
    forcePathStyle?: boolean;
    /** A prefix in the bucket under which the registry keeps everything, e.g. "/registry". Default: none (the bucket's root). */
    rootDirectory?: string;
    /** Accept any certificate from an https regionEndpoint (a self-signed one). Default: false. */
    skipVerify?: boolean;
    /** Serve blobs through the registry instead of redirecting clients to pre-signed S3 URLs, which clients behind the ingress often cannot reach. Default: true. */
    disableRedirect?: boolean;
    /** Access key ID (made a secret; it goes into the registry's Secret). Default: none (credentialsSecret, or the SDK's default chain: an IAM role of the node or the pod). */
    accessKey?: pulumi.Input<string>;
    /** Secret access key (made a secret; it goes into the registry's Secret). Needed with accessKey. Default: none. */
    secretKey?: pulumi.Input<string>;
    /** An existing Secret in the registry's namespace that holds the keys, instead of accessKey and secretKey. Default: none. */
    credentialsSecret?: S3CredentialsSecretArgs;
}

/** The S3 keys in an existing Secret of the registry's namespace. The registry reads each value as YAML: quote one that YAML would read as a number, boolean or map. */
export interface S3CredentialsSecretArgs {
    /** The Secret's name. Required. */
    name: string;
    /** The Secret's key holding the access key ID. Default: "accessKey". */
    accessKeyKey?: string;
    /** The Secret's key holding the secret access key. Default: "secretKey". */
    secretKeyKey?: string;
}

/** An existing Redis the registry caches blob descriptors in. Every replica must use the same one, and it must evict with `maxmemory-policy allkeys-lru`: the registry sets no expiry. */
export interface RedisArgs {
    /** host:port of the Redis, e.g. "redis.cache.svc:6379". Default: none (no Redis: each pod caches in memory). */
    address?: string;
    /** Its password (made a secret; it goes into the registry's Secret). Default: none (passwordSecret, or no password). */
    password?: pulumi.Input<string>;
    /** An existing Secret in the registry's namespace holding the password, instead of password. Default: none. */
    passwordSecret?: RedisPasswordSecretArgs;
    /** The database number. Default: 0. */
    db?: number;
}

/** The Redis password in an existing Secret of the registry's namespace (read by the registry as YAML, as S3 keys are). */
export interface RedisPasswordSecretArgs {
    /** The Secret's name. Required. */
    name: string;
    /** The Secret's key holding the password. Default: "password". */
    key?: string;
}

/** The registry's Prometheus metrics, served by its debug server on a port of its own that no Ingress names. */
export interface MetricsArgs {
    /** Serve /metrics on the debug port, name it "metrics" in the Service, and annotate the pods for Prometheus to scrape. Default: false. */
    enabled?: boolean;
    /** The debug server's port (it also serves /debug/pprof and /debug/vars, unauthenticated: it stays inside the cluster). Default: 5001. */
    port?: number;
    /** A monitoring.coreos.com/v1 ServiceMonitor for the Prometheus Operator (its CRDs must be installed); needs enabled. Default: false. */
    serviceMonitor?: boolean;
}

/** How the registry is exposed outside the cluster. */
export interface IngressArgs {
    /** IngressClass name. Default: none (the cluster's default class, Traefik on k3s). */
    className?: pulumi.Input<string>;
    /** Annotations added to (and overriding) the defaults for ingress-nginx. Default: none. */
    annotations?: pulumi.Input<Record<string, string>>;
    /** Render k3s's HelmChartConfig for Traefik with this websecure readTimeout, so uploads longer than Traefik's 60 s are not cut. Default: none (Traefik's own). */
    traefikReadTimeoutSeconds?: number;
}

/** The certificate the Ingress serves for the hostname. */
export interface TlsArgs {
    /** "generated" (a CA and certificate made by the stack), "secret" (an existing Secret) or "ingressDefault" (the controller's certificate). Default: "generated" ("secret" when secretName is set). */
    mode?: TlsMode;
    /** The kubernetes.io/tls Secret in the registry's namespace, for "secret". Default: none. */
    secretName?: pulumi.Input<string>;
    /** Validity of the generated server certificate, in days; renewed by the first `pulumi up` after two thirds of it. Default: 365. */
    validityDays?: number;
    /** Validity of the generated CA certificate, in days; renewed (same key) by the same rule. Default: 3650. */
    caValidityDays?: number;
}

/** Compute resources of the registry container. */
export interface ResourceArgs {
    /** Requests. Default: cpu "50m", memory "64Mi". */
    requests?: pulumi.Input<Record<string, string>>;
    /** Limits. Default: memory "512Mi". */
    limits?: pulumi.Input<Record<string, string>>;
}

/** The hosts-file line that makes the hostname resolve to the address. */
export interface HostsEntryArgs {
    /** Add the line (false: the hosts are managed elsewhere). Default: true. */
    enabled?: boolean;
    /** The hosts file. Default: "/etc/hosts". */
    file?: pulumi.Input<string>;
    /** Use `sudo -n` to write: "auto" (only when the file is not writable), "always" or "never". Default: "auto". */
    sudo?: pulumi.Input<SudoMode>;
}

/** How Docker comes to trust the registry's certificate. */
export interface DockerTrustArgs {
    /** "insecure" (daemon.json insecure-registries, as in the seed), "ca" (certs.d/<host>/ca.crt) or "none". Default: "ca" for tls "generated", "insecure" for "ingressDefault", and for "secret" "ca" when caCertificate is set, else "none". */
    mode?: DockerTrustMode;
    /** Docker's daemon.json. Default: "/etc/docker/daemon.json" (macOS: "~/.docker/daemon.json"). */
    daemonConfig?: pulumi.Input<string>;
    /** Docker's certificate directory. Default: "/etc/docker/certs.d" (macOS: "~/.docker/certs.d"). */
    certsDir?: pulumi.Input<string>;
    /** PEM CA certificate that signed the registry's certificate, for "ca" with tls "secret" or "ingressDefault" (tls "generated" brings its own). Default: none. */
    caCertificate?: pulumi.Input<string>;
    /** Command (argv, no shell) run after daemon.json changes, e.g. ["sudo","systemctl","restart","docker"]. Default: []. */
    restartCommand?: pulumi.Input<pulumi.Input<string>[]>;
    /** Use `sudo -n` to write: "auto", "always" or "never". Default: "auto". */
    sudo?: pulumi.Input<SudoMode>;
}

/** An image to copy into the registry. */
export interface ImageToPush {
    /** Source reference: a Docker reference ("nginx", "docker.io/library/nginx:1.27") or, for skopeo, any transport ("oci-archive:/path.tar"). */
    source: string;
    /** Repository in the registry. Default: the last path element of the source ("nginx"). */
    repository?: string;
    /** Tag in the registry. Default: the source's tag, else "latest". */
    tag?: string;
    /** Platform to pull. Default: the push's platform ("linux/amd64"). */
    platform?: string;
}

/** Login and push of images from the workstation. */
export interface ImagePushArgs {
    /** Push the images (false: a machine without Docker). Default: true. */
    enabled?: boolean;
    /** "docker" (pull, tag, login, push, as in the seed) or "skopeo" (daemonless copy). Default: "docker". */
    tool?: pulumi.Input<PushTool>;
    /** Images to push. Default: [{ source: "nginx" }]. */
    images?: ImageToPush[];
    /** Platform pulled for an image that names none. Default: "linux/amd64". */
    platform?: string;
}

/** Garbage collection: `registry garbage-collect` run by a CronJob, every replica read-only meanwhile. */
export interface GarbageCollectionArgs {
    /** Cron schedule of the runs, in the cluster's time zone (usually UTC); "none" runs it only on demand (`kubectl create job --from=cronjob/<name>-gc`). Default: "0 3 * * 0". */
    schedule?: string;
    /** Also delete manifests that no tag points at (registry 3.x only: 2.8 deletes the platforms of multi-arch images, distribution#3178). Default: false. */
    deleteUntagged?: boolean;
    /** Image with a POSIX shell and kubectl, for the steps that make the registry read-only and writable again. Default: "registry.k8s.io/kubectl:v1.37.2". */
    kubectlImage?: pulumi.Input<string>;
}

/** The account the image-pull Secrets carry, so that the admin's password is in no namespace. */
export interface PullAccountArgs {
    /** Its username (a password is generated and kept secret in state). Default: "<component name>-pull". */
    username?: string;
}

/** The DaemonSet that makes every node resolve and trust the registry, so the cluster pulls what was pushed. */
export interface NodeTrustArgs {
    /** Run it (false: the nodes are configured by hand, as docs/pulling.md shows). Default: true. */
    enabled?: boolean;
    /** containerd's certs directory on the nodes (its CRI registry config_path): k3s's; plain containerd's is "/etc/containerd/certs.d". Default: "/var/lib/rancher/k3s/agent/etc/containerd/certs.d". */
    certsDir?: string;
    /** The nodes' hosts file, which gets the line that resolves the hostname. Default: "/etc/hosts". */
    hostsFile?: string;
}

/** The KEP-1755 ConfigMap kube-public/local-registry-hosting, which tells tools (Tilt, ctlptl) where the cluster's registry is. */
export interface LocalRegistryHostingArgs {
    /** Write it (one registry per cluster can: the create fails when another owns it). Default: true. */
    enabled?: boolean;
    /** The help URL it gives. Default: "https://distribution.github.io/distribution/". */
    help?: string;
}

/** The workstation's side: hosts entry, Docker trust and push. */
export interface WorkstationArgs {
    /** The hosts-file line. Default: the defaults of HostsEntryArgs. */
    hostsEntry?: HostsEntryArgs;
    /** Docker's trust of the registry. Default: the defaults of DockerTrustArgs (the mode the certificate needs). */
    dockerTrust?: DockerTrustArgs;
    /** The image push. Default: the defaults of ImagePushArgs. */
    push?: ImagePushArgs;
    /** Tells the marked lines and files of this stack apart from another's. Default: "<project>/<stack>/<component name>". */
    owner?: pulumi.Input<string>;
}

/** The checks, through the registry's HTTP API, that the pushed images are served. */
export interface VerificationArgs {
    /** Run the checks after the push. Default: true (when images are pushed). */
    enabled?: boolean;
    /** How long a check keeps retrying while the registry and its ingress come up, in seconds. Default: 300. */
    deadlineSeconds?: pulumi.Input<number>;
    /** Delete, by digest, the manifest of an image removed from the push list (never one another tag still points at). Default: true. */
    deleteRemovedImages?: pulumi.Input<boolean>;
}

/** Inputs of the DistributionRegistry component. */
export interface DistributionRegistryArgs {
    /** IP address (v4 or v6) that the hostname resolves to: the machine serving the ingress. Required. */
    address: pulumi.Input<string>;
    /** The registry user. Required. */
    username: pulumi.Input<string>;
    /** That user's password (made a secret): one line, at most 72 bytes. Required. */
    password: pulumi.Input<string>;
    /** More users for the htpasswd file. Default: none. */
    extraUsers?: RegistryUser[];
    /** DNS name of the registry (not an IP address: an Ingress host is a DNS name): Ingress host, hosts entry, image prefix. Default: "registry.test". */
    hostname?: pulumi.Input<string>;
    /** HTTPS port the ingress serves on, as clients reach it. Default: 443. */
    port?: pulumi.Input<number>;
    /** Namespace of every object. Default: "examples". */
    namespace?: pulumi.Input<string>;
    /** Create the namespace (true) or use an existing one (false). Default: false. */
    createNamespace?: boolean;
    /** Registry image; registry:2.8.x and registry:3.x both work. Default: "registry:2.8.3". */
    image?: pulumi.Input<string>;
    /** Major version of Distribution the image runs, 2 or 3, where its tag does not say (a digest, "latest"). Default: read from the image's tag. */
    imageMajorVersion?: number;
    /** Number of registry pods; above 1 needs storage they share (type "s3", or a ReadWriteMany claim). Default: 1. */
    replicas?: pulumi.Input<number>;
    /** Image storage. Default: the defaults of StorageArgs (a claim of the cluster's default StorageClass). */
    storage?: StorageArgs;
    /** A Redis shared by the replicas as the blob-descriptor cache. Default: the defaults of RedisArgs (none). */
    redis?: RedisArgs;
    /** Prometheus metrics on the debug port. Default: the defaults of MetricsArgs (off). */
    metrics?: MetricsArgs;
    /** Ingress settings. Default: the defaults of IngressArgs. */
    ingress?: IngressArgs;
    /** The certificate served for the hostname. Default: the defaults of TlsArgs (a CA and certificate the stack makes). */
    tls?: TlsArgs;
    /** bcrypt cost of the htpasswd hashes, 4..31; each request pays it. Default: 5 (as `htpasswd -B`). */
    bcryptCost?: pulumi.Input<number>;
    /** Container resources. Default: the defaults of ResourceArgs. */
    resources?: ResourceArgs;
    /** Extra labels on every object. Default: none. */
    labels?: pulumi.Input<Record<string, string>>;
    /** Do not wait for the Deployment's rollout and the Ingress's address (pulumi.com/skipAwait). Default: false. */
    skipAwait?: pulumi.Input<boolean>;
    /** Garbage collection, scheduled and on demand (not with emptyDir storage). Default: the defaults of GarbageCollectionArgs (weekly). */
    garbageCollection?: GarbageCollectionArgs;
    /** The account the image-pull Secrets carry (htpasswd has no read-only user: it can push too). Default: the defaults of PullAccountArgs. */
    pullAccount?: PullAccountArgs;
    /** Namespaces that get an image-pull Secret (kubernetes.io/dockerconfigjson) of the pull account; they must exist. Default: []. */
    imagePullSecretNamespaces?: pulumi.Input<pulumi.Input<string>[]>;
    /** Every node resolves and trusts the registry (a DaemonSet): pods pull what was pushed. Default: the defaults of NodeTrustArgs (on). */
    nodeTrust?: NodeTrustArgs;
    /** The KEP-1755 ConfigMap that tells tools where the registry is. Default: the defaults of LocalRegistryHostingArgs (on). */
    localRegistryHosting?: LocalRegistryHostingArgs;
    /** The workstation steps. Default: the defaults of WorkstationArgs (all on). */
    workstation?: WorkstationArgs;
    /** The API checks. Default: the defaults of VerificationArgs (on). */
    verification?: VerificationArgs;
}
