// @peculiar/x509 resolves its parts through tsyringe, which needs the Reflect metadata API loaded first.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import * as crypto from "crypto";
import * as net from "net";

/*
 * The certificates of tls "generated": a CA and a server certificate it signs, made from two keys that a
 * resource generated once and keeps in state (privateKeys.ts). Everything here is a pure function of the keys,
 * the names and the clock's renewal window: RSASSA-PKCS1-v1_5 signatures are deterministic, the serial numbers
 * and dates are derived, so every run renders the same bytes until the renewal rule says otherwise.
 */

const signingAlgorithm = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
const hourMs = 3600 * 1000;
const dayMs = 24 * hourMs;

/** The keys of privateKeys.ts: PKCS#8 PEM, and when they were made (the start of the first validity window). */
export interface TlsKeys {
    created: string;
    caPrivateKey: string;
    serverPrivateKey: string;
}

export interface CertificateRequest {
    /** The DNS name the server certificate is for. */
    hostname: string;
    /** The IP address the hostname resolves to, also in the server certificate's SAN. */
    address?: string;
    /** Validity of the server certificate, in days. */
    validityDays: number;
    /** Validity of the CA certificate, in days. */
    caValidityDays: number;
}

export interface IssuedCertificates {
    /** PEM of the CA certificate: what clients trust. */
    caCertificate: string;
    /** PEM of the server certificate, signed by the CA. */
    certificate: string;
    /** PEM (PKCS#8) of the server certificate's key. */
    privateKey: string;
    /** When the server certificate is renewed: the first `pulumi up` from then on issues the next one. */
    renewAfter: string;
    notAfter: string;
}

/**
 * The renewal rule: a certificate is valid for `validityDays` and is renewed by the first run after two thirds
 * of that have passed (cert-manager's default). The windows are counted from `created`, so every run inside
 * one window computes the same dates. notBefore is an hour early, for clocks a little behind.
 */
export function validityWindow(
    created: Date,
    validityDays: number,
    now: Date,
): { notBefore: Date; notAfter: Date; renewAfter: Date } {
    // Whole seconds: a certificate's dates have no finer unit, and renewAfter must be the next window's notBefore exactly.
    const origin = Math.floor(created.getTime() / 1000) * 1000;
    const lifetime = validityDays * dayMs;
    const step = Math.floor((lifetime * 2) / 3 / 1000) * 1000;
    const index = Math.max(0, Math.floor((now.getTime() - origin) / step));
    const start = origin + index * step;
    return {
        notBefore: new Date(start - hourMs),
        notAfter: new Date(start + lifetime),
        renewAfter: new Date(start + step),
    };
}

async function signingKeys(
    pem: string,
): Promise<{ privateKey: crypto.webcrypto.CryptoKey; publicKey: crypto.webcrypto.CryptoKey }> {
    const key = crypto.createPrivateKey(pem);
    if (key.asymmetricKeyType !== "rsa") {
        throw new Error(`the TLS key in state is ${key.asymmetricKeyType}, not RSA`);
    }
    const subtle = crypto.webcrypto.subtle;
    const privateKey = await subtle.importKey(
        "pkcs8",
        key.export({ type: "pkcs8", format: "der" }),
        signingAlgorithm,
        true,
        ["sign"],
    );
    const publicDer = crypto.createPublicKey(key).export({ type: "spki", format: "der" });
    const publicKey = await subtle.importKey("spki", publicDer, signingAlgorithm, true, ["verify"]);
    return { privateKey, publicKey };
}

/** A positive 128-bit serial derived from what makes the certificate unique, so it is repeatable and unique per window. */
function serialNumber(...parts: string[]): string {
    const digest = crypto.createHash("sha256").update(parts.join("\n")).digest();
    digest[0] &= 0x7f;
    digest[0] |= 0x40;
    return digest.subarray(0, 16).toString("hex");
}

function publicKeyId(pem: string): string {
    return crypto
        .createHash("sha256")
        .update(crypto.createPublicKey(pem).export({ type: "spki", format: "der" }))
        .digest("hex");
}

/** The CA's name: stable for the life of its key (not the hostname's), and different for every stack's CA. */
export function caSubject(caPrivateKey: string): string {
    return `CN=distribution-registry CA ${publicKeyId(caPrivateKey).slice(0, 16)},O=distribution-registry`;
}

/** Issues the CA and server certificates for `now`'s renewal window. */
export async function issueCertificates(
    keys: TlsKeys,
    request: CertificateRequest,
    now: Date = new Date(),
): Promise<IssuedCertificates> {
    const created = new Date(keys.created);
    if (Number.isNaN(created.getTime())) {
        throw new Error(`the TLS keys in state have no creation time ("${keys.created}")`);
    }
    const ca = await signingKeys(keys.caPrivateKey);
    const server = await signingKeys(keys.serverPrivateKey);
    const caName = caSubject(keys.caPrivateKey);
    const caWindow = validityWindow(created, request.caValidityDays, now);
    const caCertificate = await x509.X509CertificateGenerator.createSelfSigned(
        {
            serialNumber: serialNumber("ca", publicKeyId(keys.caPrivateKey), caWindow.notBefore.toISOString()),
            name: caName,
            notBefore: caWindow.notBefore,
            notAfter: caWindow.notAfter,
            signingAlgorithm,
            keys: ca,
            extensions: [
                // pathLen 0: the CA signs server certificates only, never another CA.
                new x509.BasicConstraintsExtension(true, 0, true),
                new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
                await x509.SubjectKeyIdentifierExtension.create(ca.publicKey, false, crypto.webcrypto),
            ],
        },
        crypto.webcrypto,
    );

    const window = validityWindow(created, request.validityDays, now);
    const names: x509.JsonGeneralName[] = [{ type: "dns", value: request.hostname }];
    if (request.address && net.isIP(request.address)) {
        names.push({ type: "ip", value: request.address });
    }
    const certificate = await x509.X509CertificateGenerator.create(
        {
            serialNumber: serialNumber(
                "server",
                publicKeyId(keys.serverPrivateKey),
                window.notBefore.toISOString(),
                request.hostname,
                request.address ?? "",
                caCertificate.serialNumber,
            ),
            subject: `CN=${request.hostname}`,
            issuer: caCertificate.subject,
            notBefore: window.notBefore,
            notAfter: window.notAfter,
            signingAlgorithm,
            publicKey: server.publicKey,
            signingKey: ca.privateKey,
            extensions: [
                new x509.BasicConstraintsExtension(false, undefined, true),
                new x509.KeyUsagesExtension(
                    x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
                    true,
                ),
                new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
                new x509.SubjectAlternativeNameExtension(names, false),
                await x509.AuthorityKeyIdentifierExtension.create(ca.publicKey, false, crypto.webcrypto),
                await x509.SubjectKeyIdentifierExtension.create(server.publicKey, false, crypto.webcrypto),
            ],
        },
        crypto.webcrypto,
    );

    return {
        caCertificate: caCertificate.toString("pem") + "\n",
        certificate: certificate.toString("pem") + "\n",
        privateKey: keys.serverPrivateKey,
        renewAfter: window.renewAfter.toISOString(),
        notAfter: window.notAfter.toISOString(),
    };
}
