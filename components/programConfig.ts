import * as pulumi from "@pulumi/pulumi";
import { DistributionRegistryArgs, ImageToPush } from "./args";
import { RegistryCredentials, registryCredentialsFromTerraform } from "./terraformOutputs";
import { InputError } from "./validation";

/**
 * Turns the stack's configuration (the keys declared in Pulumi.yaml) into the component's arguments.
 * Pulumi.yaml can declare only strings, numbers, booleans and lists, so maps and images are lists of
 * "key=value" and "source[=repository:tag]" strings.
 */

/** The subset of pulumi.Config this needs, so tests can pass a plain map. */
export interface ConfigReader {
    get(key: string): string | undefined;
    getNumber(key: string): number | undefined;
    getBoolean(key: string): boolean | undefined;
    getObject<T>(key: string): T | undefined;
    getSecret(key: string): pulumi.Output<string> | undefined;
}

/** "key=value" strings to a map. */
export function parseKeyValues(items: string[], configKey: string): Record<string, string> {
    const result: Record<string, string> = {};
    for (const item of items) {
        const at = item.indexOf("=");
        if (at <= 0) {
            throw new InputError(configKey, `"${item}" is not key=value`, "Write each entry as key=value.");
        }
        result[item.slice(0, at)] = item.slice(at + 1);
    }
    return result;
}

/** "source" or "source=repository:tag" strings to images. */
export function parseImages(items: string[], platform: string | undefined): ImageToPush[] {
    return items.map(item => {
        const at = item.lastIndexOf("=");
        if (at < 0) {
            return { source: item, platform };
        }
        const [repository, tag] = item.slice(at + 1).split(":");
        return { source: item.slice(0, at), repository, tag, platform };
    });
}

/** Address and credentials: each from its config key when set, otherwise from the Terraform stack. */
export function credentialsFromConfig(config: ConfigReader): RegistryCredentials {
    const address = config.get("address") || undefined;
    const username = config.get("username") || undefined;
    const password = config.getSecret("password");
    let terraform: RegistryCredentials | undefined;
    // Terraform runs only if one of the three is not set in config.
    const fromTerraform = () => terraform ??= registryCredentialsFromTerraform({
        dir: config.get("terraformDir") || "../../infra",
        stateFile: config.get("terraformStateFile") || undefined,
        binary: config.get("terraformBinary") || "terraform",
    }, {
        address: config.get("terraformAddressOutput") || "vm_public_ip",
        username: config.get("terraformUsernameOutput") || "container_registry_username",
        password: config.get("terraformPasswordOutput") || "container_registry_password",
    });
    return {
        address: address !== undefined ? pulumi.output(address) : fromTerraform().address,
        username: username !== undefined ? pulumi.output(username) : fromTerraform().username,
        password: pulumi.secret(pulumi.output(password ?? "").apply(p => p ? pulumi.output(p) : fromTerraform().password)),
    };
}

export function argsFromConfig(config: ConfigReader, credentials: RegistryCredentials): DistributionRegistryArgs {
    const list = (key: string) => config.getObject<string[]>(key) ?? [];
    const optional = (key: string) => config.get(key) || undefined;
    const storageType = optional("storageType") as "emptyDir" | "persistentVolumeClaim" | undefined;
    const trustMode = optional("dockerTrust") as "insecure" | "ca" | "none" | undefined;
    const images = config.getObject<string[]>("pushImages");
    return {
        address: credentials.address,
        username: credentials.username,
        password: credentials.password,
        hostname: optional("hostname"),
        port: config.getNumber("port"),
        namespace: optional("namespace"),
        createNamespace: config.getBoolean("createNamespace"),
        image: optional("image"),
        replicas: config.getNumber("replicas"),
        storage: {
            type: storageType,
            size: optional("storageSize"),
            storageClassName: optional("storageClass"),
            accessMode: optional("storageAccessMode") as "ReadWriteOnce" | "ReadWriteMany" | undefined,
            existingClaim: optional("existingClaim"),
        },
        ingress: {
            className: optional("ingressClass"),
            annotations: parseKeyValues(list("ingressAnnotations"), "ingressAnnotations"),
            tlsSecretName: optional("tlsSecretName"),
        },
        bcryptCost: config.getNumber("bcryptCost"),
        resources: {
            requests: {
                cpu: optional("cpuRequest") ?? "50m",
                memory: optional("memoryRequest") ?? "64Mi",
            },
            limits: { memory: optional("memoryLimit") ?? "512Mi" },
        },
        skipAwait: config.getBoolean("skipAwait"),
        imagePullSecretNamespaces: list("imagePullSecretNamespaces"),
        workstation: {
            hostsEntry: {
                enabled: config.getBoolean("hostsEntry"),
                file: optional("hostsFile"),
                sudo: optional("hostsSudo") as "auto" | "always" | "never" | undefined,
            },
            dockerTrust: {
                mode: trustMode,
                daemonConfig: optional("dockerDaemonConfig"),
                certsDir: optional("dockerCertsDir"),
                caCertificate: optional("dockerCaFile") ? readText(optional("dockerCaFile")!, "dockerCaFile") : undefined,
                restartCommand: list("dockerRestartCommand"),
                sudo: optional("dockerSudo") as "auto" | "always" | "never" | undefined,
            },
            push: {
                enabled: config.getBoolean("pushEnabled"),
                tool: optional("pushTool") as "docker" | "skopeo" | undefined,
                images: images ? parseImages(images, optional("pushPlatform")) : undefined,
            },
        },
        verification: {
            enabled: config.getBoolean("verify"),
            deadlineSeconds: config.getNumber("verifyDeadlineSeconds"),
            deleteRemovedImages: config.getBoolean("deleteRemovedImages"),
        },
    };
}

function readText(file: string, configKey: string): string {
    try {
        return require("fs").readFileSync(file, "utf8");
    } catch (e) {
        throw new InputError(configKey, `cannot read ${file} (${(e as NodeJS.ErrnoException).code})`, "Give the path of the registry's CA certificate in PEM.");
    }
}
