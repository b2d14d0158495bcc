import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";
import * as pulumi from "@pulumi/pulumi";
import { ComponentProvider, getPulumiComponents } from "@pulumi/pulumi/provider/experimental";
import { installMocks, plain, settled, wasSecret } from "./mocks";
import { declaredInterfaces } from "../support/argsDeclarations";

// The multi-language component: Pulumi's Node.js plugin host (@pulumi/pulumi/cmd/run-plugin) requires the
// package's main, hosts every ComponentResource it exports, names the provider after package.json's name,
// and infers the schema from the TypeScript sources with the SDK's analyzer. This test does the same, then
// compares the schema with what components/args.ts and the component class declare, read here independently.

const registered = installMocks();
import * as components from "../../components";

const repo = path.join(__dirname, "..", "..");
const packageJson = JSON.parse(fs.readFileSync(path.join(repo, "package.json"), "utf8"));
const token = "distribution-registry:index:DistributionRegistry";

const interfaces = declaredInterfaces();
const enums = components as unknown as Record<string, unknown>;

/** What the schema must say for a type written in args.ts: `plain` unless wrapped in pulumi.Input. */
function expectedType(node: ts.TypeNode, plain: boolean): Record<string, unknown> {
    const mark = (t: Record<string, unknown>) => (plain ? { ...t, plain: true } : t);
    if (ts.isTypeReferenceNode(node)) {
        const name = node.typeName.getText();
        if (name === "pulumi.Input") {
            return expectedType(node.typeArguments![0], false);
        }
        if (name === "Record") {
            return mark({ type: "object", additionalProperties: expectedType(node.typeArguments![1], plain) });
        }
        // An interface of args.ts, or one of its enums (a const object and a type of the same name).
        expect(interfaces.has(name) || typeof enums[name] === "object").toBe(true);
        return mark({ $ref: `#/types/distribution-registry:index:${name}` });
    }
    if (ts.isArrayTypeNode(node)) {
        return mark({ type: "array", items: expectedType(node.elementType, plain) });
    }
    const keyword: Partial<Record<ts.SyntaxKind, string>> = {
        [ts.SyntaxKind.StringKeyword]: "string",
        [ts.SyntaxKind.NumberKeyword]: "number",
        [ts.SyntaxKind.BooleanKeyword]: "boolean",
    };
    if (keyword[node.kind]) {
        return mark({ type: keyword[node.kind] });
    }
    throw new Error(`args.ts uses a type the schema cannot express: ${node.getText()} (a union? make it an enum)`);
}

/** A schema property without the fields compared elsewhere, and items/additionalProperties alike. */
function shape(p: any): Record<string, unknown> {
    const { description: _d, optional: _o, ...rest } = p;
    for (const k of ["items", "additionalProperties"]) {
        if (rest[k]) {
            rest[k] = shape(rest[k]);
        }
    }
    return rest;
}

let schema: any;

beforeAll(async () => {
    const found = getPulumiComponents(components);
    const provider = new ComponentProvider({
        name: packageJson.name,
        dirname: repo,
        components: found,
    });
    schema = JSON.parse(await provider.getSchema());
}, 180000);

describe("the component's inferred schema", () => {
    test("the package exports one component, whose type token is the provider's name", () => {
        expect(getPulumiComponents(components).map(c => c.name)).toEqual(["DistributionRegistry"]);
        expect(Object.keys(schema.resources)).toEqual([token]);
        expect(schema.name).toBe(packageJson.name);
        expect(schema.version).toBe(packageJson.version);
        // A type the analyzer could not place (a union, an intersection) fails getSchema: we got here, so none.
        expect(schema.resources[token].isComponent).toBe(true);
    });

    test("every type of args.ts reachable from the args, each property as declared, with its JSDoc and default", () => {
        const seen = new Set<string>();
        const compare = (name: string, schemaProps: Record<string, any>, required: string[]) => {
            seen.add(name);
            const declared = interfaces.get(name)!;
            expect(`${name}: ${Object.keys(schemaProps).sort().join(", ")}`).toBe(
                `${name}: ${[...declared.keys()].sort().join(", ")}`,
            );
            expect([...required].sort()).toEqual(
                [...declared]
                    .filter(([, d]) => !d.optional)
                    .map(([k]) => k)
                    .sort(),
            );
            const props = [...declared];
            // Pinned here as well as by the names above: an interface read as empty would pass the loop unseen.
            expect(props).toHaveLength(Object.keys(schemaProps).length);
            expect(`${name}: ${props.length > 0 ? "has properties" : "empty"}`).toBe(`${name}: has properties`);
            for (const [prop, d] of props) {
                const got = schemaProps[prop];
                expect({ [`${name}.${prop}`]: shape(got) }).toEqual({
                    [`${name}.${prop}`]: expectedType(d.type, true),
                });
                expect(got.description).toBe(d.doc);
                // Project rule: each optional property's JSDoc states its default.
                if (d.optional) {
                    expect(`${name}.${prop}: ${d.doc}`).toMatch(/Default: /);
                }
            }
        };
        const resource = schema.resources[token];
        compare("DistributionRegistryArgs", resource.inputProperties, resource.requiredInputs);
        const types = Object.entries<any>(schema.types);
        expect(types.map(([typeToken]) => typeToken.split(":")[2]).sort()).toEqual([
            "DockerTrustArgs",
            "DockerTrustMode",
            "GarbageCollectionArgs",
            "HostsEntryArgs",
            "ImagePushArgs",
            "ImageToPush",
            "IngressArgs",
            "LocalRegistryHostingArgs",
            "MetricsArgs",
            "NodeTrustArgs",
            "PullAccountArgs",
            "PushTool",
            "RedisArgs",
            "RedisPasswordSecretArgs",
            "RegistryUser",
            "ResourceArgs",
            "S3CredentialsSecretArgs",
            "S3StorageArgs",
            "StorageAccessMode",
            "StorageArgs",
            "StorageType",
            "SudoMode",
            "TlsArgs",
            "TlsMode",
            "VerificationArgs",
            "WorkstationArgs",
        ]);
        for (const [typeToken, type] of types) {
            const name = typeToken.split(":")[2];
            if (type.enum) {
                const values = Object.values(enums[name] as Record<string, string>);
                expect({ [name]: type.enum.map((e: any) => e.value) }).toEqual({ [name]: values });
                expect(type.type).toBe("string");
            } else {
                compare(name, type.properties, type.required);
            }
        }
        // Every interface of args.ts is part of the schema: none is left out.
        expect([...seen].sort()).toEqual([...interfaces.keys()].sort());
    });

    test("string choices are enums with the values TypeScript callers pass", () => {
        const values = (n: string) => schema.types[`distribution-registry:index:${n}`].enum.map((e: any) => e.value);
        expect(values("StorageType")).toEqual(["emptyDir", "persistentVolumeClaim", "s3"]);
        expect(values("StorageAccessMode")).toEqual(["ReadWriteOnce", "ReadWriteMany", "ReadWriteOncePod"]);
        expect(values("SudoMode")).toEqual(["auto", "always", "never"]);
        expect(values("DockerTrustMode")).toEqual(["insecure", "ca", "none"]);
        expect(values("PushTool")).toEqual(["docker", "skopeo"]);
    });

    test("outputs: the component's public Outputs, all required", () => {
        const file = path.join(repo, "components", "distributionRegistry.ts");
        const source = ts.createSourceFile(file, fs.readFileSync(file, "utf8"), ts.ScriptTarget.ES2022, true);
        const outputs: string[] = [];
        source.forEachChild(node => {
            if (ts.isClassDeclaration(node) && node.name?.text === "DistributionRegistry") {
                for (const m of node.members) {
                    if (ts.isPropertyDeclaration(m) && m.type?.getText().startsWith("pulumi.Output<")) {
                        outputs.push(m.name.getText(source));
                    }
                }
            }
        });
        const resource = schema.resources[token];
        expect(Object.keys(resource.properties).sort()).toEqual(outputs.sort());
        expect(resource.required).toEqual(outputs.sort());
        expect(resource.properties.digests).toMatchObject({ type: "object", additionalProperties: { type: "string" } });
        expect(resource.properties.pushedImages).toMatchObject({ type: "array", items: { type: "string" } });
    });

    test("secrets: the schema cannot mark them, so the component does: built through the provider, htpasswd is secret", async () => {
        // The analyzer has no `secret` flag: nothing in the schema is marked secret.
        expect(JSON.stringify(schema)).not.toContain('"secret":');
        // What a YAML or Python stack gets: construct through the provider, with the password as the engine sends it.
        const provider = new ComponentProvider({
            name: packageJson.name,
            dirname: repo,
            components: getPulumiComponents(components),
        });
        const result = await provider.construct(
            "multi",
            token,
            {
                address: "192.0.2.10",
                username: "admin",
                password: pulumi.secret("p4ss"),
                workstation: {
                    hostsEntry: { enabled: false },
                    dockerTrust: { mode: "none" },
                    push: { enabled: false },
                },
            },
            {},
        );
        await settled(registered, result.state);
        expect(Object.keys(result.state).sort()).toEqual(Object.keys(schema.resources[token].properties).sort());
        expect(await pulumi.isSecret(result.state.htpasswd as pulumi.Output<string>)).toBe(true);
        expect(await pulumi.isSecret(result.state.url as pulumi.Output<string>)).toBe(false);
        // The htpasswd reaches the Secret as a secret input, the hash of the password the engine sent.
        const secret = registered.find(r => r.name === "multi-secret")!;
        expect(wasSecret(secret.inputs.stringData)).toBe(true);
        expect(plain(secret.inputs.stringData).htpasswd).toMatch(
            /^admin:\$2y\$05\$[./A-Za-z0-9]{53}\nmulti-pull:\$2y\$05\$[./A-Za-z0-9]{53}\n$/,
        );
        expect(await pulumi.isSecret(result.state.pullPassword as pulumi.Output<string>)).toBe(true);
    }, 60000);
});
