import * as crypto from "crypto";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { nodeTrustLabels, nodeTrustName, nodeTrustSelectorLabels, skipAwaitAnnotation } from "../naming";
import { RegistrySettings } from "../settings";
import { nodeTrustCaKey, nodeTrustMountPath, nodeTrustScriptKey } from "./nodeTrustConfigMap";

/** How the nodes' containerd verifies the registry's certificate (the script's DR_TLS). */
export const NodeTls = {
    /** Against a CA, written beside hosts.toml: the generated one, or the one given. */
    Ca: "ca",
    /** Not at all: only the seed's setup (Traefik's self-signed default certificate, no CA to trust). */
    SkipVerify: "skipVerify",
    /** Against the node's own roots (a certificate from a public CA). */
    System: "system",
} as const;
export type NodeTls = (typeof NodeTls)[keyof typeof NodeTls];

/** What the node-trust pods are told besides the settings. */
export interface NodeTrustTarget {
    /** The registry as image references name it: host, or host:port. */
    registry: string;
    /** The address the hostname resolves to on the nodes. */
    address: string;
    /** Marks what the pods write as this stack's. */
    owner: string;
    tls: NodeTls;
    /** Checksum of the node-trust ConfigMap's data (script and CA): a change rolls the pods. */
    checksum: string;
}

/** Where the pods see the node's files (hostPath mounts). */
const certsMount = "/host/certs.d";
const hostsMount = "/host/hosts";
const stateDirectory = "/tmp";

/** Seconds between two checks of a node's files (each writes back what went missing). */
export const nodeTrustCheckSeconds = 30;

/** Checksum of the node-trust ConfigMap's data, for the pod template. */
export function nodeTrustChecksum(data: Record<string, string>): string {
    const hash = crypto.createHash("sha256");
    for (const key of Object.keys(data).sort()) {
        hash.update(key).update("\0").update(data[key]).update("\0");
    }
    return hash.digest("hex");
}

/**
 * One pod on every node (every taint tolerated: a node that may run a pod may pull) running nodeTrust.sh in the
 * registry's own image, so nodes pull nothing new. Least privilege: root (the files are root's) with every capability
 * dropped, a read-only root filesystem, no service account token, no host network; two host paths only.
 * A rolling update replaces one node's pod at a time, the old one gone (its files with it) before the new one starts.
 */
export function renderNodeTrustDaemonSet(
    s: RegistrySettings,
    target: NodeTrustTarget,
): pulumi.Unwrap<k8s.types.input.apps.v1.DaemonSet> {
    const name = nodeTrustName(s.name);
    const script = `${nodeTrustMountPath}/${nodeTrustScriptKey}`;
    return {
        apiVersion: "apps/v1",
        kind: "DaemonSet",
        metadata: {
            name,
            namespace: s.namespace,
            labels: nodeTrustLabels(s.name, s.labels),
            ...(s.skipAwait ? { annotations: { [skipAwaitAnnotation]: "true" } } : {}),
        },
        spec: {
            selector: { matchLabels: nodeTrustSelectorLabels(s.name) },
            updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
            template: {
                metadata: {
                    labels: nodeTrustLabels(s.name, s.labels),
                    annotations: { "checksum/node-trust": target.checksum },
                },
                spec: {
                    automountServiceAccountToken: false,
                    enableServiceLinks: false,
                    securityContext: { seccompProfile: { type: "RuntimeDefault" } },
                    // Linux nodes only (the script is sh; a Windows node's containerd has other paths), whatever their taints.
                    nodeSelector: { "kubernetes.io/os": "linux" },
                    tolerations: [{ operator: "Exists" }],
                    // The script takes its files away on SIGTERM in milliseconds (it may wait for the node's lock).
                    terminationGracePeriodSeconds: 60,
                    containers: [
                        {
                            name: "node-trust",
                            image: s.image,
                            imagePullPolicy: "IfNotPresent",
                            command: ["/bin/sh", script, "run"],
                            env: [
                                { name: "DR_CERTS_DIR", value: certsMount },
                                { name: "DR_HOSTS_FILE", value: hostsMount },
                                { name: "DR_NODE_CERTS_DIR", value: s.nodeTrust.certsDir },
                                { name: "DR_NODE_HOSTS_FILE", value: s.nodeTrust.hostsFile },
                                { name: "DR_REGISTRY", value: target.registry },
                                { name: "DR_HOSTNAME", value: s.hostname },
                                { name: "DR_ADDRESS", value: target.address },
                                { name: "DR_OWNER", value: target.owner },
                                { name: "DR_TLS", value: target.tls },
                                ...(target.tls === NodeTls.Ca
                                    ? [{ name: "DR_CA_FILE", value: `${nodeTrustMountPath}/${nodeTrustCaKey}` }]
                                    : []),
                                { name: "DR_STATE_DIR", value: stateDirectory },
                                { name: "DR_CHECK_SECONDS", value: String(nodeTrustCheckSeconds) },
                                { name: "POD_UID", valueFrom: { fieldRef: { fieldPath: "metadata.uid" } } },
                            ],
                            // Ready once the node's files are written; not Ready, with the reason as the probe's
                            // message, while something (a host directory or hosts line of someone else's) stops it.
                            readinessProbe: {
                                exec: { command: ["/bin/sh", script, "ready"] },
                                periodSeconds: 5,
                                timeoutSeconds: 5,
                                failureThreshold: 1,
                            },
                            resources: { requests: { cpu: "5m", memory: "8Mi" }, limits: { memory: "64Mi" } },
                            securityContext: {
                                runAsUser: 0,
                                runAsGroup: 0,
                                runAsNonRoot: false,
                                allowPrivilegeEscalation: false,
                                readOnlyRootFilesystem: true,
                                // Root owns the files it writes: no capability is needed to write them.
                                capabilities: { drop: ["ALL"] },
                            },
                            volumeMounts: [
                                { name: "certs", mountPath: certsMount },
                                { name: "hosts", mountPath: hostsMount },
                                { name: "script", mountPath: nodeTrustMountPath, readOnly: true },
                                { name: "state", mountPath: stateDirectory },
                            ],
                        },
                    ],
                    volumes: [
                        // The kubelet makes containerd's certs directory when it is missing (k3s makes it only for a
                        // registries.yaml entry); the hosts file must exist.
                        { name: "certs", hostPath: { path: s.nodeTrust.certsDir, type: "DirectoryOrCreate" } },
                        { name: "hosts", hostPath: { path: s.nodeTrust.hostsFile, type: "File" } },
                        { name: "script", configMap: { name } },
                        { name: "state", emptyDir: {} },
                    ],
                },
            },
        },
    };
}
