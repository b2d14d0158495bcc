import * as childProcess from "child_process";
import * as crypto from "crypto";
import * as path from "path";
import { caSubject, issueCertificates, TlsKeys, validityWindow } from "../../components/tls/certificates";
import { generateKeysScript, parseKeys } from "../../components/tls/privateKeys";

// The keys come from the keys Command's own script, run as the Command runs it.
const keys: TlsKeys = parseKeys(childProcess.execFileSync("node", ["-e", generateKeysScript], { encoding: "utf8" }));
const request = { hostname: "registry.test", address: "192.0.2.10", validityDays: 365, caValidityDays: 3650 };
const created = new Date(keys.created);
const day = 24 * 3600 * 1000;
const at = (days: number) => new Date(created.getTime() + days * day);

describe("the generated certificates", () => {
    test("the keys script prints two RSA 2048 keys in PKCS#8 and the time it ran", () => {
        for (const pem of [keys.caPrivateKey, keys.serverPrivateKey]) {
            const key = crypto.createPrivateKey(pem);
            expect(pem.startsWith("-----BEGIN PRIVATE KEY-----")).toBe(true);
            expect(key.asymmetricKeyType).toBe("rsa");
            expect(key.asymmetricKeyDetails?.modulusLength).toBe(2048);
        }
        expect(keys.caPrivateKey).not.toBe(keys.serverPrivateKey);
        expect(keys.created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        // The time is the clock's when the script runs: under a clock set to a known moment, exactly that moment.
        const underFixedClock = parseKeys(
            childProcess.execFileSync(
                "node",
                ["-r", path.join(__dirname, "fixtures", "fixedClock.js"), "-e", generateKeysScript],
                { encoding: "utf8", env: { ...process.env, DR_FIXED_CLOCK: "2031-02-03T04:05:06.789Z" } },
            ),
        );
        expect(underFixedClock.created).toBe("2031-02-03T04:05:06.789Z");
    });

    test("the server certificate names the hostname and the address, serves TLS only, and chains to the CA", async () => {
        const issued = await issueCertificates(keys, request, at(1));
        const server = new crypto.X509Certificate(issued.certificate);
        const ca = new crypto.X509Certificate(issued.caCertificate);
        expect(server.subjectAltName).toBe("DNS:registry.test, IP Address:192.0.2.10");
        expect(server.subject).toBe("CN=registry.test");
        expect(server.ca).toBe(false);
        expect(server.keyUsage).toEqual(["1.3.6.1.5.5.7.3.1"]);
        expect(server.checkHost("registry.test")).toBe("registry.test");
        expect(server.checkHost("other.test")).toBeUndefined();
        expect(server.checkIP("192.0.2.10")).toBe("192.0.2.10");
        expect(server.checkIssued(ca)).toBe(true);
        expect(server.verify(ca.publicKey)).toBe(true);
        expect(server.publicKey.export({ type: "spki", format: "pem" })).toBe(
            crypto.createPublicKey(keys.serverPrivateKey).export({ type: "spki", format: "pem" }),
        );
        expect(issued.privateKey).toBe(keys.serverPrivateKey);
        // The key usages as OpenSSL reads them: a CA that signs certificates only, a server key for TLS.
        const text = (pem: string) =>
            childProcess.execFileSync("openssl", ["x509", "-noout", "-text"], { input: pem, encoding: "utf8" });
        expect(text(issued.certificate)).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
        expect(text(issued.certificate)).toMatch(/Key Usage: critical\s+Digital Signature, Key Encipherment/);
        expect(text(issued.caCertificate)).toMatch(/Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
        expect(text(issued.caCertificate)).toMatch(/Key Usage: critical\s+Certificate Sign, CRL Sign/);
        // The CA's name holds a hash of its public key: two stacks' CAs never share a name.
        const keyId = caSubject(keys.caPrivateKey).match(/CA ([0-9a-f]{16})/)![1];
        expect(ca.subject.split("\n").sort()).toEqual([
            `CN=distribution-registry CA ${keyId}`,
            "O=distribution-registry",
        ]);
    });

    test("OpenSSL verifies the chain for the hostname, and refuses it for another name", async () => {
        const issued = await issueCertificates(keys, request, at(1));
        const dir = require("fs").mkdtempSync(require("path").join(require("os").tmpdir(), "dr-certs-"));
        const write = (name: string, text: string) => {
            const p = require("path").join(dir, name);
            require("fs").writeFileSync(p, text);
            return p;
        };
        const caFile = write("ca.crt", issued.caCertificate);
        const certFile = write("tls.crt", issued.certificate);
        const verify = (...extra: string[]) =>
            childProcess.spawnSync(
                "openssl",
                ["verify", "-CAfile", caFile, "-purpose", "sslserver", ...extra, certFile],
                { encoding: "utf8" },
            );
        expect(verify("-verify_hostname", "registry.test").stdout).toContain(": OK");
        expect(verify("-verify_ip", "192.0.2.10").stdout).toContain(": OK");
        expect(verify("-verify_hostname", "evil.test").status).not.toBe(0);
        require("fs").rmSync(dir, { recursive: true });
    });

    test("validity: a year from (an hour before) the keys' creation, the CA ten years, IPv6 addresses too", async () => {
        const issued = await issueCertificates(keys, { ...request, address: "2001:db8::1" }, at(0));
        const server = new crypto.X509Certificate(issued.certificate);
        const ca = new crypto.X509Certificate(issued.caCertificate);
        expect(new Date(server.validFrom).getTime()).toBe(Math.floor(created.getTime() / 1000) * 1000 - 3600 * 1000);
        expect((new Date(server.validTo).getTime() - new Date(server.validFrom).getTime()) / day).toBeCloseTo(
            365 + 1 / 24,
            3,
        );
        expect((new Date(ca.validTo).getTime() - new Date(ca.validFrom).getTime()) / day).toBeCloseTo(3650 + 1 / 24, 3);
        expect(server.subjectAltName).toBe("DNS:registry.test, IP Address:2001:DB8:0:0:0:0:0:1");
        expect(issued.notAfter).toBe(new Date(Math.floor(created.getTime() / 1000) * 1000 + 365 * day).toISOString());
    });

    test("the same keys and names give the same bytes on every run inside one renewal window", async () => {
        const first = await issueCertificates(keys, request, at(1));
        const second = await issueCertificates(keys, request, at(1));
        const later = await issueCertificates(keys, request, at(243));
        expect(second).toEqual(first);
        expect(later.certificate).toBe(first.certificate);
        expect(later.caCertificate).toBe(first.caCertificate);
    });

    test("renewal: after two thirds of the validity the next run issues a new certificate, valid a year from then", async () => {
        const first = await issueCertificates(keys, request, at(1));
        expect(first.renewAfter).toBe(validityWindow(created, 365, at(1)).renewAfter.toISOString());
        const renewAfter = new Date(first.renewAfter);
        const justBefore = await issueCertificates(keys, request, new Date(renewAfter.getTime() - 1000));
        const justAfter = await issueCertificates(keys, request, new Date(renewAfter.getTime() + 1000));
        expect(justBefore.certificate).toBe(first.certificate);
        expect(justAfter.certificate).not.toBe(first.certificate);
        const renewed = new crypto.X509Certificate(justAfter.certificate);
        const old = new crypto.X509Certificate(first.certificate);
        expect(renewed.serialNumber).not.toBe(old.serialNumber);
        // Renewed with a third of the old one's validity left, so both are valid while clients switch.
        expect(new Date(renewed.validFrom).getTime()).toBe(renewAfter.getTime() - 3600 * 1000);
        expect(new Date(old.validTo).getTime() - renewAfter.getTime()).toBeGreaterThan(121 * day);
        // The CA is not due: the same CA bytes, so nothing a client trusts changes.
        expect(justAfter.caCertificate).toBe(first.caCertificate);
        // A run long after expiry (nobody ran pulumi up) issues one valid now.
        const late = new crypto.X509Certificate((await issueCertificates(keys, request, at(800))).certificate);
        expect(new Date(late.validFrom).getTime()).toBeLessThan(at(800).getTime());
        expect(new Date(late.validTo).getTime()).toBeGreaterThan(at(800).getTime());
    });

    test("the CA is renewed by the same rule, with the same key and name, so certificates it signed still verify", async () => {
        const before = await issueCertificates(keys, request, at(2433));
        const after = await issueCertificates(keys, request, at(2434));
        expect(after.caCertificate).not.toBe(before.caCertificate);
        const oldServer = new crypto.X509Certificate(before.certificate);
        const newCa = new crypto.X509Certificate(after.caCertificate);
        expect(newCa.subject).toBe(new crypto.X509Certificate(before.caCertificate).subject);
        expect(oldServer.verify(newCa.publicKey)).toBe(true);
        expect(oldServer.checkIssued(newCa)).toBe(true);
    });

    test("a changed hostname or address gives a new certificate for the new names, signed by the same CA", async () => {
        const first = await issueCertificates(keys, request, at(1));
        const renamed = await issueCertificates(keys, { ...request, hostname: "images.example.test" }, at(1));
        const moved = await issueCertificates(keys, { ...request, address: "192.0.2.11" }, at(1));
        expect(new crypto.X509Certificate(renamed.certificate).subjectAltName).toBe(
            "DNS:images.example.test, IP Address:192.0.2.10",
        );
        expect(new crypto.X509Certificate(moved.certificate).subjectAltName).toBe(
            "DNS:registry.test, IP Address:192.0.2.11",
        );
        expect(renamed.certificate).not.toBe(first.certificate);
        expect(renamed.caCertificate).toBe(first.caCertificate);
        expect(moved.caCertificate).toBe(first.caCertificate);
    });

    test("keys that are not the Command's output are a clear error, not a certificate", () => {
        expect(() => parseKeys("")).toThrow(/the TLS keys Command's output is not the keys it prints/);
        expect(() => parseKeys('{"created":"x"}')).toThrow(/replace it with `pulumi up --replace/);
    });
});
