import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { commonLabels } from "../naming";
import { RegistrySettings } from "../settings";
import { IssuedCertificates } from "../tls/certificates";

/**
 * The generated certificate as the Ingress serves it; "ca.crt" too, as cert-manager writes it, for clients in the
 * cluster. No name: Pulumi names it "<name>-tls-<random>", so a new certificate (the Kubernetes provider replaces a
 * Secret whose data changes) is a new Secret created before the Ingress moves to it and the old one goes, never a
 * moment with none.
 */
export function renderTlsSecret(
    s: RegistrySettings,
    issued: IssuedCertificates,
): pulumi.Unwrap<k8s.types.input.core.v1.Secret> {
    return {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { namespace: s.namespace, labels: commonLabels(s.name, s.labels) },
        type: "kubernetes.io/tls",
        stringData: { "tls.crt": issued.certificate, "tls.key": issued.privateKey, "ca.crt": issued.caCertificate },
    };
}
