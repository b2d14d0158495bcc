import { DockerTrustMode, PushTool, StorageAccessMode, StorageType, SudoMode, TlsMode } from "./args";

/**
 * Every default the component applies, in the shape of its arguments: the one place each is written. The program's
 * options table (program/options.ts) shows them as config defaults, the JSDoc of args.ts states them (a test compares
 * the two), and the code reads them from here. Defaults that depend on other inputs (Docker's trust follows the tls
 * mode; daemon.json's path follows the platform) are decided where the plan is made (plan.ts), and their JSDoc says how.
 */
export const defaults = {
    hostname: "registry.test",
    port: 443,
    namespace: "examples",
    createNamespace: false,
    image: "registry:2.8.3",
    replicas: 1,
    storage: {
        // A registry on emptyDir forgets every image when its pod restarts; k3s (and most clusters) have a default class.
        type: StorageType.PersistentVolumeClaim as StorageType,
        size: "10Gi",
        accessMode: StorageAccessMode.ReadWriteOnce as StorageAccessMode,
        s3: {
            region: "us-east-1",
            // Most S3-compatible servers serve buckets by path only; AWS serves both.
            forcePathStyle: true,
            skipVerify: false,
            // Pre-signed S3 URLs name the object store's address, which clients behind the ingress often cannot reach.
            disableRedirect: true,
            credentialsSecret: { accessKeyKey: "accessKey", secretKeyKey: "secretKey" },
        },
    },
    redis: { passwordSecret: { key: "password" }, db: 0 },
    metrics: { enabled: false, port: 5001, serviceMonitor: false },
    tls: {
        mode: TlsMode.Generated as TlsMode,
        // A year, renewed after eight months; the CA ten years. Both stay under what clients refuse (macOS: 825 days).
        validityDays: 365,
        caValidityDays: 3650,
    },
    // What `htpasswd -B` uses: every request pays it (DESIGN.md: cost 5 serves ~15 times what bcryptjs' 10 does).
    bcryptCost: 5,
    resources: {
        requests: { cpu: "50m", memory: "64Mi" } as Record<string, string>,
        limits: { memory: "512Mi" } as Record<string, string>,
    },
    skipAwait: false,
    garbageCollection: {
        // Deleting frees nothing until it runs, and the registry is read-only while it does (a minute or so):
        // weekly, at night, bounds the growth to a week of deletions at the least cost to pushes.
        schedule: "0 3 * * 0",
        deleteUntagged: false,
        // A POSIX shell and kubectl (the kubectl image has dash since 1.29), of the version the e2e runs.
        kubectlImage: "registry.k8s.io/kubectl:v1.37.2",
    },
    imagePullSecretNamespaces: [] as string[],
    // The cluster pulls what was pushed: on, since that is what the registry is for (docs/pulling.md says why). k3s's
    // certs directory, as the seed's cluster is k3s.
    nodeTrust: {
        enabled: true,
        certsDir: "/var/lib/rancher/k3s/agent/etc/containerd/certs.d",
        hostsFile: "/etc/hosts",
    },
    localRegistryHosting: { enabled: true, help: "https://distribution.github.io/distribution/" },
    workstation: {
        hostsEntry: { enabled: true, file: "/etc/hosts", sudo: SudoMode.Auto as SudoMode },
        dockerTrust: { restartCommand: [] as string[], sudo: SudoMode.Auto as SudoMode },
        push: {
            enabled: true,
            tool: PushTool.Docker as PushTool,
            images: [{ source: "nginx" }],
            platform: "linux/amd64",
        },
    },
    verification: { enabled: true, deadlineSeconds: 300, deleteRemovedImages: true },
};

/** The garbage-collection schedule that means "on demand only": the CronJob is suspended. */
export const noSchedule = "none";

/** The pull account's username when none is given: the component's name says whose it is. */
export function defaultPullUsername(componentName: string): string {
    return `${componentName}-pull`;
}

/** Docker's trust when none is given: what the certificate needs (plan.ts). */
export function defaultDockerTrust(tlsMode: TlsMode, caCertificateGiven: boolean): DockerTrustMode {
    if (tlsMode === TlsMode.Generated) {
        return DockerTrustMode.Ca;
    }
    if (tlsMode === TlsMode.IngressDefault) {
        return DockerTrustMode.Insecure;
    }
    return caCertificateGiven ? DockerTrustMode.Ca : DockerTrustMode.None;
}
