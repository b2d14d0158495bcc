import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { installMocks, valueOf } from "./mocks";
import {
    argsFromConfig,
    ConfigReader,
    credentialsFromConfig,
    parseImages,
    parseKeyValues,
    readCredentials,
} from "../../components/programConfig";

installMocks();

/** pulumi.Config's reading methods over a plain map of stack config. */
function configOf(values: Record<string, unknown>): ConfigReader {
    return {
        get: k => (values[k] === undefined ? undefined : String(values[k])),
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
            parseImages(["nginx", "nginx:1.27=web:stable", "oci-archive:/tmp/app.tar=app:v1"], "linux/arm64"),
        ).toEqual([
            { source: "nginx", platform: "linux/arm64" },
            { source: "nginx:1.27", repository: "web", tag: "stable", platform: "linux/arm64" },
            { source: "oci-archive:/tmp/app.tar", repository: "app", tag: "v1", platform: "linux/arm64" },
        ]);
    });

    test("address and credentials set in config are used without Terraform; the password is a secret", async () => {
        const credentials = credentialsFromConfig(
            configOf({ address: "192.0.2.10", username: "admin", password: "pw", terraformDir: "/does/not/exist" }),
        );
        expect(await valueOf(credentials.address)).toBe("192.0.2.10");
        expect(await valueOf(credentials.password)).toBe("pw");
        expect(await pulumi.isSecret(credentials.password)).toBe(true);
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
        const credentials = credentialsFromConfig(
            configOf({
                terraformStateFile: stateFile,
                terraformAddressOutput: "ip",
                terraformUsernameOutput: "user",
                terraformPasswordOutput: "pass",
                username: "override",
            }),
        );
        expect(await valueOf(credentials.address)).toBe("198.51.100.7");
        expect(await valueOf(credentials.username)).toBe("override");
        expect(await valueOf(credentials.password)).toBe("tf-pass");
        expect(await pulumi.isSecret(credentials.password)).toBe(true);
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
            { address: pulumi.output("192.0.2.1"), username: pulumi.output("u"), password: pulumi.secret("p") },
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
                existingClaim: undefined,
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
                push: { enabled: true, tool: "skopeo", images: [{ source: "busybox", platform: "linux/arm64" }] },
            },
            verification: { enabled: false, deadlineSeconds: 60, deleteRemovedImages: false },
        });
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

    test("every key declared in Pulumi.yaml is read by the program, and every key read is declared", () => {
        const yaml = fs.readFileSync(path.join(__dirname, "..", "..", "Pulumi.yaml"), "utf8");
        const declared = [...yaml.slice(yaml.indexOf("\nconfig:")).matchAll(/^ {2}([A-Za-z]+):$/gm)]
            .map(m => m[1])
            .sort();
        const source = fs.readFileSync(path.join(__dirname, "..", "..", "components", "programConfig.ts"), "utf8");
        const read = [
            ...new Set(
                [
                    ...source.matchAll(
                        /(?:get|getNumber|getBoolean|getObject<[^>]+>|getSecret|optional|list|number|boolean)\("([A-Za-z]+)"/g,
                    ),
                ].map(m => m[1]),
            ),
        ].sort();
        expect(read).toEqual(declared);
    });
});
