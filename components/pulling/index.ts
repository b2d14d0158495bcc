import * as fs from "fs";
import * as path from "path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { TlsMode } from "../args";
import { RegistryPlan } from "../plan";
import { RegistrySettings } from "../settings";
import { renderLocalRegistryHosting } from "../templates/localRegistryHosting";
import { renderNodeTrustConfigMap } from "../templates/nodeTrustConfigMap";
import { NodeTls, nodeTrustChecksum, renderNodeTrustDaemonSet } from "../templates/nodeTrustDaemonSet";

/** The node-trust script: plain POSIX sh that the tests also run, on real files. */
export const nodeTrustScriptFile = path.join(__dirname, "scripts", "nodeTrust.sh");

export function nodeTrustScript(): string {
    return fs.readFileSync(nodeTrustScriptFile, "utf8");
}

/**
 * How the nodes verify the certificate: against the CA whenever one is known (the generated one, or the one given);
 * without verifying only for the controller's own certificate with no CA (the seed's setup); else the node's roots.
 */
export function nodeTlsOf(tlsMode: TlsMode, caKnown: boolean): NodeTls {
    if (caKnown) {
        return NodeTls.Ca;
    }
    return tlsMode === TlsMode.IngressDefault ? NodeTls.SkipVerify : NodeTls.System;
}

/** What the cluster pulls through, besides the image-pull Secrets (workload.ts). */
export interface Pulling {
    /** The node-trust script (and CA) the DaemonSet mounts. */
    nodeTrustConfigMap?: k8s.core.v1.ConfigMap;
    /** One pod on every node: the registry resolves and is trusted there. */
    nodeTrust?: k8s.apps.v1.DaemonSet;
    /** KEP-1755's kube-public/local-registry-hosting. */
    localRegistryHosting?: k8s.core.v1.ConfigMap;
}

export interface PullingInputs {
    plan: Pick<RegistryPlan, "nodeTrust" | "localRegistryHosting" | "tlsMode" | "owner">;
    /** The registry as image references name it: host, or host:port. */
    registry: pulumi.Output<string>;
    address: pulumi.Output<string>;
    /** PEM of the CA clients trust the registry through, when one is known (TrustPlan.caCertificate). */
    caCertificate?: pulumi.Input<string>;
    /** The namespace this stack creates, which the DaemonSet and its ConfigMap wait for. */
    namespace?: pulumi.Resource;
}

/**
 * The nodes' side (a DaemonSet that writes containerd's hosts.toml with the CA, and a hosts line, on every node, and
 * takes them away when it goes), and the tools' (KEP-1755's ConfigMap), as the plan says.
 */
export function createPulling(
    name: string,
    inputs: PullingInputs,
    settings: pulumi.Output<RegistrySettings>,
    opts: pulumi.CustomResourceOptions,
): Pulling {
    const pulling: Pulling = {};
    if (inputs.plan.nodeTrust) {
        const inNamespace = { ...opts, dependsOn: inputs.namespace ? [inputs.namespace] : [] };
        const tls = nodeTlsOf(inputs.plan.tlsMode, inputs.caCertificate !== undefined);
        const script = nodeTrustScript();
        const configMapObject = pulumi
            .all([settings, inputs.caCertificate])
            .apply(([s, ca]) => renderNodeTrustConfigMap(s, script, tls === NodeTls.Ca ? ca : undefined));
        const configMap = new k8s.core.v1.ConfigMap(
            `${name}-node-trust-script`,
            { metadata: configMapObject.metadata, data: configMapObject.data },
            inNamespace,
        );
        const daemonSetObject = pulumi
            .all([settings, inputs.registry, inputs.address, inputs.plan.owner, configMapObject])
            .apply(([s, registry, address, owner, c]) =>
                renderNodeTrustDaemonSet(s, { registry, address, owner, tls, checksum: nodeTrustChecksum(c.data!) }),
            );
        pulling.nodeTrustConfigMap = configMap;
        pulling.nodeTrust = new k8s.apps.v1.DaemonSet(
            `${name}-node-trust`,
            { metadata: daemonSetObject.metadata, spec: daemonSetObject.spec },
            { ...opts, dependsOn: [...(inputs.namespace ? [inputs.namespace] : []), configMap] },
        );
    }
    if (inputs.plan.localRegistryHosting) {
        const object = pulumi.all([settings, inputs.registry]).apply(([s, r]) => renderLocalRegistryHosting(s, r));
        pulling.localRegistryHosting = new k8s.core.v1.ConfigMap(
            `${name}-local-registry-hosting`,
            { metadata: object.metadata, data: object.data },
            opts,
        );
    }
    return pulling;
}
