import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { installMocks, valueOf } from "./mocks";
import { options } from "../../components/program/options";
import {
    argsFromConfig,
    ConfigReader,
    configKeyOf,
    inConfigTerms,
    parseImages,
    parseKeyValues,
    readCredentials,
} from "../../components/program/stackConfig";
import { InputError } from "../../components/validation";

installMocks();

/** pulumi.Config's reading methods over a plain map of stack config. */
function configOf(values: Record<string, unknown>): ConfigReader {
    return {
        get: k =>
            values[k] === undefined ? undefined : typeof values[k] === "string" ? values[k] : JSON.stringify(values[k]),
        getNumber: k => (values[k] === undefined ? undefined : Number(values[k])),
        getBoolean: k => (values[k] === undefined ? undefined : values[k] === true),
        getObject: <T>(k: string) => values[k] as T | undefined,
        getSecret: k => (values[k] === undefined ? undefined : pulumi.secret(String(values[k]))),
    };
}

describe("program configuration", () => {
    test("key=value lists become maps; a bad entry names the key", () => {
        expect(parseKeyValues(["a=b", "c=d=e"], "ingressAnnotations")).toEqual({ a: "b", c: "d=e" });
        expect(() => parseKeyValues(["nope"], "ingressAnnotations")).toThrow(
            /^ingressAnnotations: "nope" is not key=value/,
        );
    });

    test("image strings name the source and optionally the repository and tag", () => {
        expect(
            parseImages(["nginx", "nginx:1.27=web:stable", "oci-archive:/tmp/app.tar=app:v1"], "pushImages"),
        ).toEqual([
            { source: "nginx" },
            { source: "nginx:1.27", repository: "web", tag: "stable" },
            { source: "oci-archive:/tmp/app.tar", repository: "app", tag: "v1" },
        ]);
    });

    test("address and credentials set in config are used without Terraform; the password is a secret", async () => {
        const credentials = await readCredentials(
            configOf({ address: "192.0.2.10", username: "admin", password: "pw", terraformDir: "/does/not/exist" }),
        );
        expect(credentials.address).toBe("192.0.2.10");
        expect(credentials.username).toBe("admin");
        expect(await valueOf(pulumi.output(credentials.password))).toBe("pw");
        expect(await pulumi.isSecret(pulumi.output(credentials.password))).toBe(true);
    });

    test("what config does not set comes from the Terraform state file, with the output names configured", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dr-config-"));
        const stateFile = path.join(dir, "terraform.tfstate");
        fs.writeFileSync(
            stateFile,
            JSON.stringify({
                version: 4,
                outputs: {
                    ip: { value: "198.51.100.7" },
                    user: { value: "tf-user" },
                    pass: { value: "tf-pass", sensitive: true },
                },
            }),
        );
        const credentials = await readCredentials(
            configOf({
                terraformStateFile: stateFile,
                terraformAddressOutput: "ip",
                terraformUsernameOutput: "user",
                terraformPasswordOutput: "pass",
                username: "override",
            }),
        );
        expect(credentials.address).toBe("198.51.100.7");
        expect(credentials.username).toBe("override");
        expect(await valueOf(pulumi.output(credentials.password))).toBe("tf-pass");
        expect(await pulumi.isSecret(pulumi.output(credentials.password))).toBe(true);
        fs.rmSync(dir, { recursive: true });
    });

    test("every config key reaches the component's arguments", () => {
        const args = argsFromConfig(
            configOf({
                hostname: "reg.example.com",
                port: 8443,
                namespace: "tools",
                createNamespace: true,
                image: "registry:3.0.0",
                replicas: 2,
                storageType: "persistentVolumeClaim",
                storageSize: "20Gi",
                storageClass: "fast",
                storageAccessMode: "ReadWriteMany",
                existingClaim: "",
                ingressClass: "nginx",
                ingressAnnotations: ["a=b"],
                traefikReadTimeoutSeconds: 600,
                tls: "secret",
                tlsSecretName: "tls",
                tlsValidityDays: 90,
                tlsCaValidityDays: 900,
                bcryptCost: 6,
                cpuRequest: "100m",
                memoryRequest: "128Mi",
                memoryLimit: "1Gi",
                skipAwait: true,
                hostsEntry: false,
                hostsFile: "/tmp/hosts",
                hostsSudo: "never",
                dockerTrust: "none",
                dockerDaemonConfig: "/tmp/daemon.json",
                dockerCertsDir: "/tmp/certs.d",
                dockerRestartCommand: ["true"],
                dockerSudo: "always",
                pushEnabled: true,
                pushTool: "skopeo",
                pushImages: ["busybox"],
                pushPlatform: "linux/arm64",
                verify: false,
                verifyDeadlineSeconds: 60,
                deleteRemovedImages: false,
            }),
            { address: "192.0.2.1", username: "u", password: pulumi.secret("p") },
        );
        expect(args).toMatchObject({
            hostname: "reg.example.com",
            port: 8443,
            namespace: "tools",
            createNamespace: true,
            image: "registry:3.0.0",
            replicas: 2,
            storage: {
                type: "persistentVolumeClaim",
                size: "20Gi",
                storageClassName: "fast",
                accessMode: "ReadWriteMany",
            },
            ingress: { className: "nginx", annotations: { a: "b" }, traefikReadTimeoutSeconds: 600 },
            tls: { mode: "secret", secretName: "tls", validityDays: 90, caValidityDays: 900 },
            bcryptCost: 6,
            resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "1Gi" } },
            skipAwait: true,
            workstation: {
                hostsEntry: { enabled: false, file: "/tmp/hosts", sudo: "never" },
                dockerTrust: {
                    mode: "none",
                    daemonConfig: "/tmp/daemon.json",
                    certsDir: "/tmp/certs.d",
                    restartCommand: ["true"],
                    sudo: "always",
                },
                push: { enabled: true, tool: "skopeo", images: [{ source: "busybox" }], platform: "linux/arm64" },
            },
            verification: { enabled: false, deadlineSeconds: 60, deleteRemovedImages: false },
        });
        // existingClaim "" is Pulumi.yaml's "unset": no claim name reaches the component.
        expect(args.storage).not.toHaveProperty("existingClaim");
    });

    test("readCredentials: a username Terraform marks sensitive stays a secret; the password always is", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dr-credentials-"));
        try {
            const state = (sensitive: boolean) => {
                const file = path.join(dir, `${sensitive}.tfstate`);
                fs.writeFileSync(
                    file,
                    JSON.stringify({
                        version: 4,
                        outputs: {
                            vm_public_ip: { value: "192.0.2.10", type: "string" },
                            container_registry_username: { value: "tf-user", type: "string", sensitive },
                            container_registry_password: { value: "tf-pass", type: "string", sensitive: true },
                        },
                    }),
                );
                return file;
            };
            const sensitive = await readCredentials(configOf({ terraformStateFile: state(true) }));
            expect(await pulumi.isSecret(pulumi.output(sensitive.username))).toBe(true);
            expect(await valueOf(pulumi.output(sensitive.username))).toBe("tf-user");
            expect(await pulumi.isSecret(pulumi.output(sensitive.password))).toBe(true);
            const plain = await readCredentials(configOf({ terraformStateFile: state(false) }));
            expect(plain.username).toBe("tf-user");
            expect(plain.address).toBe("192.0.2.10");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    test("every option with an argument path reaches that path, and nothing else is set", async () => {
        // A distinct value of the right type per key: each must come out at its own path, unchanged by the others.
        const values: Record<string, unknown> = {};
        const expected: Record<string, unknown> = {};
        for (const o of options.filter(o => o.path && !["address", "username", "password"].includes(o.key))) {
            const value =
                o.choices?.[1] ??
                { string: `v-${o.key}`, integer: 7, boolean: !(o.default ?? false), array: [`${o.key}=x`] }[o.type];
            values[o.key] = value;
            expected[o.path!] = value;
        }
        values.dockerCaFile = undefined; // read from a file: its own test below
        delete expected["workstation.dockerTrust.caCertificate"];
        values.pushImages = ["busybox=b:1"];
        expected["workstation.push.images"] = [{ source: "busybox", repository: "b", tag: "1" }];
        expected["ingress.annotations"] = { ingressAnnotations: "x" };
        const args = argsFromConfig(configOf(values), { address: "192.0.2.1", username: "u", password: "p" });
        const leaves: Record<string, unknown> = {};
        const secrets: Promise<string>[] = [];
        const walk = (node: unknown, at: string) => {
            const isMap = at === "ingress.annotations";
            if (pulumi.Output.isInstance(node)) {
                // A secret option (S3 keys, Redis password) arrives as a secret Output of its value.
                secrets.push(
                    Promise.all([pulumi.isSecret(node), valueOf(node)]).then(([secret, v]) => `${at}=${v} ${secret}`),
                );
                leaves[at] = "(a secret Output)";
            } else if (node && typeof node === "object" && !Array.isArray(node) && !isMap) {
                for (const [k, v] of Object.entries(node)) {
                    walk(v, at ? `${at}.${k}` : k);
                }
            } else {
                leaves[at] = node;
            }
        };
        walk(args, "");
        const secretOptions = options.filter(o => o.secret && o.key !== "password");
        expect(secretOptions.map(o => o.key)).toEqual(["s3AccessKey", "s3SecretKey", "redisPassword"]);
        expect((await Promise.all(secrets)).sort()).toEqual(secretOptions.map(o => `${o.path}=v-${o.key} true`).sort());
        const secretPaths = Object.fromEntries(secretOptions.map(o => [o.path!, "(a secret Output)"]));
        expect(leaves).toEqual({ ...expected, ...secretPaths, address: "192.0.2.1", username: "u", password: "p" });
    });

    test("dockerCaFile is read as the file's text; an unreadable file names the key", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dr-ca-"));
        try {
            fs.writeFileSync(path.join(dir, "ca.pem"), "PEM TEXT");
            const credentials = { address: "192.0.2.1", username: "u", password: "p" };
            const args = argsFromConfig(configOf({ dockerCaFile: path.join(dir, "ca.pem") }), credentials);
            expect(args.workstation?.dockerTrust?.caCertificate).toBe("PEM TEXT");
            expect(() =>
                argsFromConfig(configOf({ dockerCaFile: path.join(dir, "missing.pem") }), credentials),
            ).toThrow(/^dockerCaFile: cannot read .*missing\.pem \(ENOENT\)/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    test("argument paths in errors become config keys, with the item index kept", () => {
        expect(configKeyOf("storage.accessMode")).toBe("storageAccessMode");
        expect(configKeyOf("workstation.push.images[2].tag")).toBe("pushImages[2].tag");
        expect(configKeyOf("resources.limits.memory")).toBe("memoryLimit");
        expect(configKeyOf("extraUsers[0].username")).toBe("extraUsers[0].username");
        // Paths with digits in a segment (storage.s3...) too, in the input and in the text.
        expect(configKeyOf("storage.s3.credentialsSecret.name")).toBe("s3CredentialsSecret");
        expect(
            inConfigTerms(
                new InputError(
                    "storage.s3.credentialsSecret.name",
                    "is set while storage.s3.accessKey is given",
                    "Give one.",
                ),
            ).message,
        ).toBe("s3CredentialsSecret: is set while s3AccessKey is given. Give one.");
        const renamed = inConfigTerms(
            new InputError(
                "workstation.dockerTrust.caCertificate",
                'is set while tls.mode is "generated"',
                'Unset it, or set workstation.push.tool "skopeo" for registry.test.',
            ),
        );
        expect(renamed.message).toBe(
            'dockerCaFile: is set while tls is "generated". Unset it, or set pushTool "skopeo" for registry.test.',
        );
    });
});
