import * as pulumi from "@pulumi/pulumi";
import * as settings from "@pulumi/pulumi/runtime/settings";
import { settled, valueOf, wasSecret } from "./mocks";

/** One registration as the engine receives it, including the options the mocks' newResource does not see. */
interface Registration {
    type: string;
    name: string;
    inputs: any;
    parent: string;
    dependencies: string[];
    additionalSecretOutputs: string[];
    /** The provider reference: "<provider URN>::<provider id>". */
    provider: string;
}

const registrations: Registration[] = [];
const digestOf = (repository: string, tag: string) =>
    `sha256:${Buffer.from(`${repository}:${tag}`).toString("hex").padEnd(64, "0").slice(0, 64)}`;

// Its body is synchronous: the promise it returns has nothing to wait for.
void pulumi.runtime.setMocks(
    {
        newResource(args: pulumi.runtime.MockResourceArgs) {
            const state: Record<string, unknown> = { ...args.inputs };
            // What a passing TagsCheck would record.
            if (args.type === "pulumi-nodejs:dynamic/registry:TagsCheck") {
                const repository = args.inputs.repository as string;
                state.digests = Object.fromEntries(
                    (args.inputs.tags as string[]).map(t => [t, digestOf(repository, t)]),
                );
            }
            return { id: `${args.name}-id`, state };
        },
        call: (args: pulumi.runtime.MockCallArgs) => args.inputs,
    },
    "distribution-registry",
    "test",
    false,
);

// The mock monitor answers registerResource; wrap it to see the request itself (secret outputs, parent, dependencies).
const monitor = settings.getMonitor() as any;
const registerResource = monitor.registerResource.bind(monitor);
monitor.registerResource = (req: any, callback: any) => {
    registrations.push({
        type: req.getType(),
        name: req.getName(),
        inputs: req.getObject().toJavaScript(),
        parent: req.getParent(),
        dependencies: req.getDependenciesList(),
        additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
        provider: req.getProvider(),
    });
    return registerResource(req, callback);
};

import { createVerification, tagsCheckName } from "../../components/verification";

describe("createVerification", () => {
    const parent = new pulumi.ComponentResource("distribution-registry:index:DistributionRegistry", "reg");
    class Push extends pulumi.CustomResource {}
    const push = new Push("command:local:Command", "reg-push", {});
    const verification = createVerification(
        "reg",
        {
            hostname: "registry.test",
            address: "192.0.2.10",
            port: 443,
            username: "admin",
            password: 'Tf p@ss:w"ord',
            tls: { mode: "insecure" },
        },
        [
            { repository: "web", tag: "latest" },
            { repository: "library/nginx", tag: "1.27" },
            { repository: "web", tag: "1.0" },
            { repository: "web", tag: "latest" },
        ],
        { deadlineSeconds: 120, deleteRemovedImages: true },
        { parent, dependsOn: [push] },
    );

    const checks = async () => {
        await settled(registrations);
        return registrations.filter(r => r.type.startsWith("pulumi-nodejs:dynamic/registry:"));
    };

    it("registers one catalog check and one tags check per repository, with sorted, unique tags", async () => {
        const registered = await checks();
        expect(registered.map(r => `${r.type} ${r.name}`).sort()).toEqual([
            "pulumi-nodejs:dynamic/registry:CatalogCheck reg-catalog",
            "pulumi-nodejs:dynamic/registry:TagsCheck reg-tags-library..nginx",
            "pulumi-nodejs:dynamic/registry:TagsCheck reg-tags-web",
        ]);
        const catalog = registered.find(r => r.name === "reg-catalog")!;
        expect(catalog.inputs).toMatchObject({
            hostname: "registry.test",
            address: "192.0.2.10",
            port: 443,
            username: "admin",
            tls: { mode: "insecure" },
            repositories: ["library/nginx", "web"],
            deadlineSeconds: 120,
        });
        const web = registered.find(r => r.name === "reg-tags-web")!;
        expect(web.inputs).toMatchObject({
            repository: "web",
            tags: ["1.0", "latest"],
            deadlineSeconds: 120,
            deleteRemovedImages: true,
        });
        expect(registered.find(r => r.name === "reg-tags-library..nginx")!.inputs).toMatchObject({
            repository: "library/nginx",
            tags: ["1.27"],
        });
        expect(verification.tags).toHaveLength(2);
    });

    it("sends the password as a secret input and asks for the password output to be kept secret", async () => {
        const registered = await checks();
        expect(registered).toHaveLength(3);
        for (const r of registered) {
            expect(wasSecret(r.inputs.password)).toBe(true);
            expect(r.inputs.password.value).toBe('Tf p@ss:w"ord');
            expect(r.additionalSecretOutputs).toContain("password");
        }
        expect(await pulumi.isSecret(verification.catalog.password)).toBe(true);
        expect(await pulumi.isSecret(verification.tags[0].password)).toBe(true);
    });

    it("sends each provider as serialized code, with no secret in it", async () => {
        const registered = await checks();
        expect(registered).toHaveLength(3);
        for (const r of registered) {
            expect(typeof r.inputs.__provider).toBe("string");
            expect(r.inputs.__provider).toContain("exports.handler");
            expect(r.inputs.__provider).not.toContain("Tf p@ss");
        }
    });

    it("passes the caller's options on: parent and dependsOn the push", async () => {
        const parentUrn = await valueOf(parent.urn);
        const pushUrn = await valueOf(push.urn);
        const registered = await checks();
        expect(registered).toHaveLength(3);
        for (const r of registered) {
            expect(r.parent).toBe(parentUrn);
            expect(r.dependencies).toContain(pushUrn);
        }
    });

    it("runs the checks on an instance of the dynamic-provider host of their own, registered without waiting for the push", async () => {
        const registered = await checks();
        const hosts = registrations.filter(r => r.type === "pulumi:providers:pulumi-nodejs");
        expect(hosts.map(h => h.name)).toEqual(["reg-checks"]);
        // It depends on nothing (the checks depend on the push): the engine starts its process while the rest registers.
        expect(hosts[0].dependencies).toEqual([]);
        expect(hosts[0].parent).toBe(await valueOf(parent.urn));
        const reference = `${await valueOf(verification.provider.urn)}::${await valueOf(verification.provider.id)}`;
        expect(registered).toHaveLength(3);
        for (const r of registered) {
            expect(r.provider).toBe(reference);
        }
    });

    it("collects the digests as repository:tag -> digest", async () => {
        expect(await valueOf(verification.digests)).toEqual({
            "library/nginx:1.27": digestOf("library/nginx", "1.27"),
            "web:1.0": digestOf("web", "1.0"),
            "web:latest": digestOf("web", "latest"),
        });
    });
});

describe("names and inputs", () => {
    it("gives every repository its own stable resource name", () => {
        expect(tagsCheckName("reg", "a/b")).toBe("reg-tags-a..b");
        expect(tagsCheckName("reg", "a-b")).toBe("reg-tags-a-b");
        expect(tagsCheckName("reg", "a.b")).not.toBe(tagsCheckName("reg", "a/b"));
    });
});
