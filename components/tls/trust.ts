import * as pulumi from "@pulumi/pulumi";
import { DockerTrustArgs, DockerTrustMode, TlsMode } from "../args";
import { RegistryPlan } from "../plan";
import { TlsSettings } from "../verification/registryClient";

/** How every client of the registry on this machine trusts its certificate: Docker, skopeo and the checks. */
export interface TrustPlan {
    /** Docker's trust, as the plan decided it. */
    dockerMode: DockerTrustMode;
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
export function planTrust(
    plan: Pick<RegistryPlan, "tlsMode" | "dockerTrustMode">,
    trust: DockerTrustArgs,
    generatedCa: pulumi.Output<string> | undefined,
): TrustPlan {
    const caCertificate = plan.tlsMode === TlsMode.Generated ? generatedCa : trust.caCertificate;
    const verify: pulumi.Output<TlsSettings> =
        caCertificate !== undefined
            ? pulumi.output(caCertificate).apply(ca => ({ mode: "ca" as const, caCertificate: ca }))
            : pulumi.output({
                  mode: plan.dockerTrustMode === DockerTrustMode.Insecure ? "insecure" : "system",
              } as const);
    return { dockerMode: plan.dockerTrustMode, caCertificate, verify };
}
