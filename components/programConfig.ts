import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import { DistributionRegistryArgs, ImageToPush } from "./args";
import {
    RegistryCredentials,
    defaultOutputNames,
    outputString,
    readTerraformOutputs,
    registryCredentialsFromTerraform,
} from "./terraformOutputs";
import { defaultImages } from "./workstation/images";
import { InputError, validateAddress, validatePassword, validateUsername } from "./validation";

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

/** "source" or "source=repository[:tag]" strings to images; nothing of an entry is dropped silently. */
export function parseImages(items: string[], platform: string | undefined): ImageToPush[] {
    if (!Array.isArray(items) || !items.every(i => typeof i === "string")) {
        throw new InputError(
            "pushImages",
            "is not a list of strings",
            'Write it as a list, e.g. ["nginx", "nginx:1.27=web:stable"].',
        );
    }
    return items.map((item, i) => {
        const at = item.lastIndexOf("=");
        if (at < 0) {
            return { source: item, platform };
        }
        const target = item.slice(at + 1);
        const parts = target.split(":");
        if (at === 0 || parts.length > 2 || parts.some(p => p.length === 0)) {
            throw new InputError(
                `pushImages[${i}]`,
                `"${item}" is not source=repository[:tag]`,
                "Write e.g. \"nginx:1.27=web:stable\": one '=' after the source, then the repository and at most one ':tag'.",
            );
        }
        return { source: item.slice(0, at), repository: parts[0], tag: parts[1], platform };
    });
}

/** Address and credentials: each from its config key when set, otherwise from the Terraform stack. */
export function credentialsFromConfig(config: ConfigReader): RegistryCredentials {
    const address = config.get("address") || undefined;
    const username = config.get("username") || undefined;
    const password = config.getSecret("password");
    let terraform: RegistryCredentials | undefined;
    // Terraform runs only if one of the three is not set in config.
    const fromTerraform = () =>
        (terraform ??= registryCredentialsFromTerraform(
            {
                dir: config.get("terraformDir") || "../../infra",
                stateFile: config.get("terraformStateFile") || undefined,
                binary: config.get("terraformBinary") || "terraform",
            },
            {
                address: config.get("terraformAddressOutput") || "vm_public_ip",
                username: config.get("terraformUsernameOutput") || "container_registry_username",
                password: config.get("terraformPasswordOutput") || "container_registry_password",
            },
        ));
    return {
        address: address !== undefined ? pulumi.output(address) : fromTerraform().address,
        username: username !== undefined ? pulumi.output(username) : fromTerraform().username,
        password: pulumi.secret(
            pulumi.output(password ?? "").apply(p => (p ? pulumi.output(p) : fromTerraform().password)),
        ),
    };
}

/** The credentials as the component takes them: plain where they are not secret, so they are checked at once. */
export interface CredentialInputs {
    address: pulumi.Input<string>;
    username: pulumi.Input<string>;
    password: pulumi.Input<string>;
}

/** The value of an Output that is known now (config values are, even at preview). */
function knownValue<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise(resolve =>
        output.apply(v => {
            resolve(v);
            return v;
        }),
    );
}

/**
 * Address and credentials, read before any resource exists: from config, else from the Terraform stack
 * (awaited here, so a Terraform error is one sentence, not a rejected Output behind every resource).
 * Values are checked as plain strings; the password, and the username when Terraform marks it sensitive,
 * are secrets.
 */
export async function readCredentials(config: ConfigReader): Promise<CredentialInputs> {
    const configured = {
        address: config.get("address") || undefined,
        username: config.get("username") || undefined,
        password: (await knownValue(config.getSecret("password") ?? pulumi.output(""))) || undefined,
    };
    let fromTerraform: { outputs: Record<string, { value: unknown; sensitive?: boolean }>; origin: string } | undefined;
    if (!configured.address || !configured.username || !configured.password) {
        fromTerraform = await readTerraformOutputs({
            dir: config.get("terraformDir") || "../../infra",
            stateFile: config.get("terraformStateFile") || undefined,
            binary: config.get("terraformBinary") || "terraform",
        });
    }
    const pick = (key: "address" | "username" | "password", outputKey: string) => {
        const value = configured[key];
        if (value !== undefined) {
            return { value, sensitive: key === "password", input: key };
        }
        const name = config.get(outputKey) || defaultOutputNames[key];
        return {
            value: outputString(fromTerraform!.outputs as never, name, fromTerraform!.origin, outputKey),
            sensitive: key === "password" || fromTerraform!.outputs[name]?.sensitive === true,
            input: `${key} (Terraform output ${name})`,
        };
    };
    const address = pick("address", "terraformAddressOutput");
    const username = pick("username", "terraformUsernameOutput");
    const password = pick("password", "terraformPasswordOutput");
    validateAddress(address.value, address.input);
    validateUsername(username.value, username.input);
    validatePassword(password.value, password.input);
    return {
        // An IP address is not a secret even when Terraform marks it sensitive: it is in the Ingress and the hosts line.
        address: address.value,
        username: username.sensitive ? pulumi.secret(username.value) : username.value,
        password: pulumi.secret(password.value),
    };
}

/** Component argument paths and the config keys that set them, for errors a config user can act on. */
const configKeys: Array<[string, string]> = [
    ["workstation.dockerTrust.restartCommand", "dockerRestartCommand"],
    ["workstation.dockerTrust.caCertificate", "dockerCaFile"],
    ["workstation.dockerTrust.daemonConfig", "dockerDaemonConfig"],
    ["workstation.dockerTrust.certsDir", "dockerCertsDir"],
    ["workstation.dockerTrust.mode", "dockerTrust"],
    ["workstation.dockerTrust.sudo", "dockerSudo"],
    ["workstation.hostsEntry.file", "hostsFile"],
    ["workstation.hostsEntry.sudo", "hostsSudo"],
    ["workstation.push.tool", "pushTool"],
    ["verification.deadlineSeconds", "verifyDeadlineSeconds"],
    ["storage.storageClassName", "storageClass"],
    ["storage.existingClaim", "existingClaim"],
    ["storage.accessMode", "storageAccessMode"],
    ["storage.type", "storageType"],
    ["storage.size", "storageSize"],
    ["resources.requests.cpu", "cpuRequest"],
    ["resources.requests.memory", "memoryRequest"],
    ["resources.limits.memory", "memoryLimit"],
    ["ingress.className", "ingressClass"],
    ["ingress.traefikReadTimeoutSeconds", "traefikReadTimeoutSeconds"],
    ["tls.secretName", "tlsSecretName"],
    ["tls.validityDays", "tlsValidityDays"],
    ["tls.caValidityDays", "tlsCaValidityDays"],
    ["tls.mode", "tls"],
];

/** The config key of a component argument path, e.g. "storage.accessMode" -> "storageAccessMode". */
export function configKeyOf(input: string): string {
    const platform = /^pushImages\[\d+\]\.platform$/.test(input) ? "pushPlatform" : undefined;
    return platform ?? configKeys.find(([argument]) => argument === input)?.[1] ?? input;
}

/** Runs fn; an InputError comes out naming config keys instead of component argument paths. */
export function withConfigKeys<T>(fn: () => T): T {
    try {
        return fn();
    } catch (e) {
        if (!(e instanceof InputError)) {
            throw e;
        }
        const rename = (text: string) => configKeys.reduce((t, [argument, key]) => t.split(argument).join(key), text);
        throw new InputError(configKeyOf(e.input), rename(e.problem), rename(e.fix));
    }
}

/**
 * Reads typed config values with errors that name the key and the fix (pulumi.Config's own say only what
 * type was expected).
 */
function typedReader(config: ConfigReader) {
    const typed = <T>(key: string, read: () => T | undefined, what: string, fix: string): T | undefined => {
        try {
            return read();
        } catch (_) {
            throw new InputError(key, `${JSON.stringify(config.get(key))} is not ${what}`, fix);
        }
    };
    const listFix = (key: string) =>
        `Write it as a list of strings, e.g. \`pulumi config set --path '${key}[0]' value\`.`;
    return {
        number: (key: string, example: string) => {
            const value = typed(
                key,
                () => config.getNumber(key),
                "a number",
                `Set a number, e.g. \`pulumi config set ${key} ${example}\`.`,
            );
            // pulumi.Config reads "10m" as 10 (parseFloat): a unit or a typo must not be dropped silently.
            const text = config.get(key);
            if (
                value !== undefined &&
                typeof text === "string" &&
                !/^\s*-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(text)
            ) {
                throw new InputError(
                    key,
                    `${JSON.stringify(text)} is not a number`,
                    `Set a number, e.g. \`pulumi config set ${key} ${example}\`.`,
                );
            }
            if (value !== undefined && !Number.isFinite(value)) {
                throw new InputError(
                    key,
                    `${JSON.stringify(config.get(key))} is not a number`,
                    `Set it to a number, e.g. ${example}.`,
                );
            }
            return value;
        },
        boolean: (key: string) =>
            typed(
                key,
                () => config.getBoolean(key),
                "true or false",
                `Set true or false, e.g. \`pulumi config set ${key} true\`.`,
            ),
        list: (key: string): string[] | undefined => {
            const value = typed(key, () => config.getObject<unknown>(key), "a list", listFix(key));
            if (value !== undefined && (!Array.isArray(value) || !value.every(v => typeof v === "string"))) {
                throw new InputError(key, `${JSON.stringify(value)} is not a list of strings`, listFix(key));
            }
            return value as string[] | undefined;
        },
    };
}

export function argsFromConfig(
    config: ConfigReader,
    credentials: CredentialInputs | RegistryCredentials,
): DistributionRegistryArgs {
    const read = typedReader(config);
    const list = (key: string) => read.list(key) ?? [];
    const optional = (key: string) => config.get(key) || undefined;
    // The choice values are cast here and checked by value in inputChecks.ts: a typo is an error, never the default.
    const storageType = optional("storageType") as "emptyDir" | "persistentVolumeClaim" | undefined;
    const trustMode = optional("dockerTrust") as "insecure" | "ca" | "none" | undefined;
    const images = read.list("pushImages");
    return {
        address: credentials.address,
        username: credentials.username,
        password: credentials.password,
        hostname: optional("hostname"),
        port: read.number("port", "443"),
        namespace: optional("namespace"),
        createNamespace: read.boolean("createNamespace"),
        image: optional("image"),
        replicas: read.number("replicas", "1"),
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
            // 0, Pulumi.yaml's default, leaves Traefik alone.
            traefikReadTimeoutSeconds: read.number("traefikReadTimeoutSeconds", "600") || undefined,
        },
        tls: {
            mode: optional("tls") as "generated" | "secret" | "ingressDefault" | undefined,
            secretName: optional("tlsSecretName"),
            validityDays: read.number("tlsValidityDays", "365"),
            caValidityDays: read.number("tlsCaValidityDays", "3650"),
        },
        bcryptCost: read.number("bcryptCost", "5"),
        resources: {
            requests: {
                cpu: optional("cpuRequest") ?? "50m",
                memory: optional("memoryRequest") ?? "64Mi",
            },
            limits: { memory: optional("memoryLimit") ?? "512Mi" },
        },
        skipAwait: read.boolean("skipAwait"),
        imagePullSecretNamespaces: list("imagePullSecretNamespaces"),
        workstation: {
            hostsEntry: {
                enabled: read.boolean("hostsEntry"),
                file: optional("hostsFile"),
                sudo: optional("hostsSudo") as "auto" | "always" | "never" | undefined,
            },
            dockerTrust: {
                mode: trustMode,
                daemonConfig: optional("dockerDaemonConfig"),
                certsDir: optional("dockerCertsDir"),
                caCertificate: optional("dockerCaFile")
                    ? readText(optional("dockerCaFile")!, "dockerCaFile")
                    : undefined,
                restartCommand: list("dockerRestartCommand"),
                sudo: optional("dockerSudo") as "auto" | "always" | "never" | undefined,
            },
            push: {
                enabled: read.boolean("pushEnabled"),
                tool: optional("pushTool") as "docker" | "skopeo" | undefined,
                // pushPlatform applies to the default image too, rather than being ignored without pushImages.
                images: images
                    ? parseImages(images, optional("pushPlatform"))
                    : optional("pushPlatform")
                      ? defaultImages.map(i => ({ ...i, platform: optional("pushPlatform") }))
                      : undefined,
            },
        },
        verification: {
            enabled: read.boolean("verify"),
            deadlineSeconds: read.number("verifyDeadlineSeconds", "300"),
            deleteRemovedImages: read.boolean("deleteRemovedImages"),
        },
    };
}

function readText(file: string, configKey: string): string {
    try {
        return fs.readFileSync(file, "utf8");
    } catch (e) {
        throw new InputError(
            configKey,
            `cannot read ${file} (${(e as NodeJS.ErrnoException).code})`,
            "Give the path of the registry's CA certificate in PEM.",
        );
    }
}
