import * as pulumi from "@pulumi/pulumi";
import { RegistrySettings } from "../settings";
import { IssuedCertificates, issueCertificates } from "./certificates";
import { createPrivateKeys } from "./privateKeys";

export { planTrust, TrustPlan } from "./trust";

/** The registry's certificate, when the stack generates it. */
export interface GeneratedTls {
    /** Secret (it holds the server key): the certificates for this run's renewal window. */
    issued: pulumi.Output<IssuedCertificates>;
    /** PEM of the CA: public. */
    caCertificate: pulumi.Output<string>;
}

/**
 * Keys once (in state), certificates every run from them: the same bytes until the renewal rule, the hostname or
 * the address changes them. The renewal rule reads the clock of the run.
 */
export function createGeneratedTls(
    name: string,
    settings: pulumi.Output<RegistrySettings>,
    address: pulumi.Output<string>,
    opts: pulumi.CustomResourceOptions,
): GeneratedTls {
    // The keys wait for the settings, so that a bad input creates nothing, as everywhere else.
    const material = createPrivateKeys(
        name,
        opts,
        settings.apply(() => true),
    );
    const issued = pulumi.secret(
        pulumi.all([material, settings, address]).apply(([k, s, a]) =>
            issueCertificates(k, {
                hostname: s.hostname,
                address: a,
                validityDays: s.tls.validityDays,
                caValidityDays: s.tls.caValidityDays,
            }),
        ),
    );
    const caCertificate = pulumi.unsecret(issued.apply(i => i.caCertificate));
    return { issued, caCertificate };
}
