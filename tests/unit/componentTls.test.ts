import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { installMocks, plain, Registered, settled, valueOf, wasSecret } from "./mocks";

const registered: Registered[] = installMocks();
import { DistributionRegistry, DistributionRegistryArgs } from "../../components";

/** Builds the component and returns what it registered, with the resource options each child got. */
async function build(name: string, args: Partial<DistributionRegistryArgs> = {}) {
    const options = new Map<string, pulumi.CustomResourceOptions>();
    const component = new DistributionRegistry(
        name,
        { address: "192.0.2.10", username: "admin", password: pulumi.secret("pw"), ...args },
        {
            transformations: [
                a => {
                    options.set(a.name, a.opts as pulumi.CustomResourceOptions);
                    return undefined;
                },
            ],
        },
    );
    const start = registered.length;
    await (component.url as any).promise().catch(() => undefined);
    await settled(registered, component);
    const mine = registered
        .slice(start)
        .filter(r => r.name.startsWith(name))
        .map(r => ({ ...r, inputs: plain(r.inputs), raw: r.inputs }));
    const one = (resourceName: string) => mine.find(r => r.name === resourceName)!;
    return { component, options, resources: mine, one };
}

/** Every string in the raw inputs that is not inside a secret. */
function plainStrings(raw: any): string[] {
    if (wasSecret(raw)) {
        return [];
    }
    if (typeof raw === "string") {
        return [raw];
    }
    return raw && typeof raw === "object" ? Object.values(raw).flatMap(plainStrings) : [];
}

describe("tls generated, the default", () => {
    test("keys come from one Command, kept secret and never logged; no private key is readable anywhere else", async () => {
        const { resources, one, options, component } = await build("gen");
        const keys = one("gen-tls-keys");
        expect(keys.inputs.logging).toBe("none");
        expect(keys.inputs.interpreter).toEqual(["node", "-e"]);
        expect(options.get("gen-tls-keys")!.additionalSecretOutputs).toEqual(["stdout"]);
        // Editing the script must not make new keys; a new key type must.
        expect(options.get("gen-tls-keys")!.ignoreChanges).toContain("create");
        expect(keys.inputs.triggers).toEqual(["rsa-2048"]);
        // Every resource of the default configuration, the TLS Secret and the keys Command among them.
        expect(resources).toHaveLength(25);
        for (const r of resources) {
            expect(
                `${r.name}: ${plainStrings(r.raw).some(s => s.includes("PRIVATE KEY")) ? "plain private key" : "ok"}`,
            ).toBe(`${r.name}: ok`);
        }
        expect(await valueOf(component.caCertificate)).toMatch(/^-----BEGIN CERTIFICATE-----/);
        expect(await pulumi.isSecret(component.caCertificate)).toBe(false);
    });

    test("a kubernetes.io/tls Secret the Ingress serves: the server certificate for the hostname, its key, and the CA", async () => {
        const { one, component } = await build("serve", { hostname: "images.example.test" });
        const secret = one("serve-tls");
        expect(secret.inputs.type).toBe("kubernetes.io/tls");
        // No name of its own: the provider names it, so a new certificate is a new Secret made before the old one goes.
        expect(secret.inputs.metadata.name).toBeUndefined();
        expect(secret.inputs.metadata.namespace).toBe("examples");
        expect(wasSecret(secret.raw.stringData)).toBe(true);
        expect(wasSecret(secret.raw.metadata)).toBe(false);
        const ca = await valueOf(component.caCertificate);
        expect(secret.inputs.stringData["ca.crt"]).toBe(ca);
        const served = new crypto.X509Certificate(secret.inputs.stringData["tls.crt"]);
        expect(served.subjectAltName).toBe("DNS:images.example.test, IP Address:192.0.2.10");
        expect(served.verify(new crypto.X509Certificate(ca).publicKey)).toBe(true);
        expect(served.checkPrivateKey(crypto.createPrivateKey(secret.inputs.stringData["tls.key"]))).toBe(true);
        expect(one("serve-ingress").inputs.spec.tls).toEqual([
            { hosts: ["images.example.test"], secretName: "serve-tls-5f3c9a1e" },
        ]);
    });

    test("trust follows it: Docker gets the CA in certs.d (no insecure registry), skopeo and the checks verify against it", async () => {
        const { one, component } = await build("trust", { workstation: { push: { tool: "skopeo" } } });
        const ca = await valueOf(component.caCertificate);
        const trust = one("trust-docker-trust").inputs.environment;
        expect(trust.DR_TRUST_MODE).toBe("ca");
        expect(trust.DR_CA_CERTIFICATE).toBe(ca);
        const push = one("trust-image-push").inputs.environment;
        expect(push.DR_TLS_MODE).toBe("ca");
        expect(push.DR_CA_CERTIFICATE).toBe(ca);
        for (const check of ["trust-catalog", "trust-tags-nginx"]) {
            expect(one(check).inputs.tls).toEqual({ mode: "ca", caCertificate: ca });
        }
        // Docker told to be insecure anyway: the checks still verify the chain.
        const insecure = await build("insecure", { workstation: { dockerTrust: { mode: "insecure" } } });
        expect(insecure.one("insecure-docker-trust").inputs.environment.DR_TRUST_MODE).toBe("insecure");
        expect(insecure.one("insecure-catalog").inputs.tls.mode).toBe("ca");
    });

    test("a second run renders the same certificate bytes, so nothing changes", async () => {
        const first = await build("again");
        const second = await build("again");
        expect(second.one("again-tls").inputs).toEqual(first.one("again-tls").inputs);
        expect(second.one("again-docker-trust").inputs).toEqual(first.one("again-docker-trust").inputs);
        expect(second.one("again-catalog").inputs).toEqual(first.one("again-catalog").inputs);
    });

    test("a changed hostname gives a new certificate, rolled out as a new Secret the Ingress moves to, and Docker's trust moves to the new host", async () => {
        const before = await build("rename");
        const after = await build("rename", { hostname: "images.example.test" });
        const certificate = (b: typeof before) =>
            new crypto.X509Certificate(b.one("rename-tls").inputs.stringData["tls.crt"]);
        expect(certificate(before).subjectAltName).toBe("DNS:registry.test, IP Address:192.0.2.10");
        expect(certificate(after).subjectAltName).toBe("DNS:images.example.test, IP Address:192.0.2.10");
        // The data differs, so the provider replaces the Secret: auto-named, the new one is created first (create before
        // delete) and the Ingress, which depends on it, moves to its name. The CA stays: no client re-trusts anything.
        expect(after.one("rename-tls").inputs.stringData["tls.crt"]).not.toBe(
            before.one("rename-tls").inputs.stringData["tls.crt"],
        );
        expect(after.options.get("rename-tls")!.deleteBeforeReplace).toBeFalsy();
        expect(
            (after.options.get("rename-ingress")!.dependsOn as pulumi.Resource[]).map(r => (r as any).__name),
        ).toContain("rename-tls");
        expect(await valueOf(after.component.caCertificate)).toBe(await valueOf(before.component.caCertificate));
        expect(after.one("rename-ingress").inputs.spec.tls).toEqual([
            { hosts: ["images.example.test"], secretName: "rename-tls-5f3c9a1e" },
        ]);
        // The trust's triggers hold the registry: a new host replaces it (certs.d/<old host> removed, <new host> written).
        expect(before.one("rename-docker-trust").inputs.triggers).toContain("registry.test");
        expect(after.one("rename-docker-trust").inputs.triggers).toContain("images.example.test");
    });
});

describe("the other tls modes", () => {
    test("ingressDefault is the seed's setup: no keys, no Secret, Docker insecure, the checks skip verification", async () => {
        const { resources, one, component } = await build("seed", { tls: { mode: "ingressDefault" } });
        expect(resources.map(r => r.name)).not.toContain("seed-tls-keys");
        expect(resources.map(r => r.name)).not.toContain("seed-tls");
        expect(one("seed-ingress").inputs.spec.tls).toEqual([{ hosts: ["registry.test"] }]);
        expect(one("seed-docker-trust").inputs.environment.DR_TRUST_MODE).toBe("insecure");
        expect(one("seed-catalog").inputs.tls).toEqual({ mode: "insecure" });
        expect(await valueOf(component.caCertificate)).toBe("");
    });

    test("secret serves the named Secret; Docker and the checks use the system roots, or the CA given", async () => {
        const own = await build("own", { tls: { secretName: "wildcard-tls" } });
        expect(own.resources.map(r => r.name)).not.toContain("own-tls-keys");
        expect(own.one("own-ingress").inputs.spec.tls).toEqual([
            { hosts: ["registry.test"], secretName: "wildcard-tls" },
        ]);
        expect(own.resources.map(r => r.name)).not.toContain("own-docker-trust");
        expect(own.one("own-catalog").inputs.tls).toEqual({ mode: "system" });
        const ca = await valueOf((await build("ca-source")).component.caCertificate);
        const withCa = await build("withca", {
            tls: { mode: "secret", secretName: "corp-tls" },
            workstation: { dockerTrust: { caCertificate: ca } },
        });
        expect(withCa.one("withca-docker-trust").inputs.environment).toMatchObject({
            DR_TRUST_MODE: "ca",
            DR_CA_CERTIFICATE: ca,
        });
        expect(withCa.one("withca-catalog").inputs.tls).toEqual({ mode: "ca", caCertificate: ca });
        expect(await valueOf(withCa.component.caCertificate)).toBe(ca);
    });

    test("traefikReadTimeoutSeconds renders k3s's HelmChartConfig for Traefik's websecure readTimeout; unset renders none", async () => {
        const { one } = await build("slow", { ingress: { traefikReadTimeoutSeconds: 900 } });
        const config = one("slow-traefik-config");
        expect(config.type).toBe("kubernetes:helm.cattle.io/v1:HelmChartConfig");
        expect(config.inputs.metadata).toMatchObject({ name: "traefik", namespace: "kube-system" });
        expect(config.inputs.spec.valuesContent).toBe(
            "ports:\n  websecure:\n    transport:\n      respondingTimeouts:\n        readTimeout: 900s\n",
        );
        expect((await build("fast")).resources.map(r => r.type)).not.toContain(
            "kubernetes:helm.cattle.io/v1:HelmChartConfig",
        );
    });
});
