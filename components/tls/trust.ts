import * as pulumi from "@pulumi/pulumi";
import { DockerTrustArgs } from "../args";
import { TlsSettings } from "../verification/registryClient";

/** How every client of the registry on this machine trusts its certificate: Docker, skopeo and the checks. */
export interface TrustPlan {
    /** Docker's trust, after the default that the tls mode implies. */
    dockerMode: "insecure" | "ca" | "none";
    /** The CA the clients trust: the generated one, or the user's; undefined when system roots (or nothing) decide. */
    caCertificate?: pulumi.Input<string>;
    /** How the checks and skopeo verify the certificate: against the CA whenever one is known. */
    verify: pulumi.Output<TlsSettings>;
}

/**
 * Trust follows the certificate. A generated certificate is trusted through its CA by everyone (Docker in
 * certs.d, no restart), and verification is never skipped for it; the seed's setup (the controller's
 * self-signed certificate) keeps Docker's insecure-registries; a Secret's certificate is trusted through
 * the user's CA when given, else through the system roots.
 */
/** Docker's trust mode: the user's, else what the certificate needs. */
export function dockerTrustModeOf(
    tlsMode: "generated" | "secret" | "ingressDefault",
    trust: DockerTrustArgs,
): "insecure" | "ca" | "none" {
    return (
        trust.mode ??
        (tlsMode === "generated"
            ? "ca"
            : tlsMode === "ingressDefault"
              ? "insecure"
              : trust.caCertificate !== undefined
                ? "ca"
                : "none")
    );
}

export function planTrust(
    tlsMode: "generated" | "secret" | "ingressDefault",
    trust: DockerTrustArgs,
    generatedCa: pulumi.Output<string> | undefined,
): TrustPlan {
    const caCertificate = tlsMode === "generated" ? generatedCa : trust.caCertificate;
    const dockerMode = dockerTrustModeOf(tlsMode, trust);
    const verify: pulumi.Output<TlsSettings> =
        caCertificate !== undefined
            ? pulumi.output(caCertificate).apply(ca => ({ mode: "ca" as const, caCertificate: ca }))
            : pulumi.output({ mode: dockerMode === "insecure" ? ("insecure" as const) : ("system" as const) });
    return { dockerMode, caCertificate, verify };
}
