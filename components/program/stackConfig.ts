import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import { DistributionRegistryArgs, ImageToPush } from "../args";
import { InputError, validateAddress, validatePassword, validateUsername } from "../validation";
import { ConfigOption, ConfigValue, option, options } from "./options";
import { outputString, readTerraformOutputs, TerraformOutputs } from "./terraformOutputs";

/**
 * Turns the stack's configuration into the component's arguments, row by row of the options table. Pulumi.yaml can
 * declare only strings, numbers, booleans and lists, so maps and images are lists of "key=value" and
 * "source[=repository:tag]" strings, and a CA is given as a file.
 */

/** The subset of pulumi.Config this needs, so tests can pass a plain map. */
export interface ConfigReader {
    get(key: string): string | undefined;
    getNumber(key: string): number | undefined;
    getBoolean(key: string): boolean | undefined;
    getObject<T>(key: string): T | undefined;
    getSecret(key: string): pulumi.Output<string> | undefined;
}

/** The keys the credentials come from: read by readCredentials, from config or else from Terraform. */
const credentialKeys = ["address", "username", "password"];

/** One option's value as config holds it, typed; unset (or empty, Pulumi.yaml's "no default") is undefined. */
export function readOption(config: ConfigReader, o: ConfigOption): ConfigValue | undefined {
    const text = config.get(o.key);
    if (text === undefined) {
        return undefined;
    }
    const listFix = `Write it as a list of strings, e.g. \`pulumi config set --path '${o.key}[0]' value\`.`;
    const typed = <T>(read: () => T | undefined, what: string, fix: string): T | undefined => {
        try {
            return read();
        } catch (_) {
            throw new InputError(o.key, `${JSON.stringify(text)} is not ${what}`, fix);
        }
    };
    switch (o.type) {
        case "string":
            return text === "" ? undefined : text;
        case "boolean":
            return typed(
                () => config.getBoolean(o.key),
                "true or false",
                `Set true or false, e.g. \`pulumi config set ${o.key} true\`.`,
            );
        case "integer": {
            const fix = `Set a number, e.g. \`pulumi config set ${o.key} ${o.default ?? 1}\`.`;
            const value = typed(() => config.getNumber(o.key), "a number", fix);
            // pulumi.Config reads "10m" as 10 (parseFloat): a unit or a typo must not be dropped silently.
            if (!/^\s*-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(text) || !Number.isFinite(value)) {
                throw new InputError(o.key, `${JSON.stringify(text)} is not a number`, fix);
            }
            return value;
        }
        case "array": {
            const value = typed(() => config.getObject<unknown>(o.key), "a list", listFix);
            if (!Array.isArray(value) || !value.every(v => typeof v === "string")) {
                throw new InputError(o.key, `${JSON.stringify(value)} is not a list of strings`, listFix);
            }
            return value;
        }
    }
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
export function parseImages(items: string[], configKey: string): ImageToPush[] {
    return items.map((item, i) => {
        const at = item.lastIndexOf("=");
        if (at < 0) {
            return { source: item };
        }
        const parts = item.slice(at + 1).split(":");
        if (at === 0 || parts.length > 2 || parts.some(p => p.length === 0)) {
            throw new InputError(
                `${configKey}[${i}]`,
                `"${item}" is not source=repository[:tag]`,
                "Write e.g. \"nginx:1.27=web:stable\": one '=' after the source, then the repository and at most one ':tag'.",
            );
        }
        return { source: item.slice(0, at), repository: parts[0], tag: parts[1] };
    });
}

function readFileText(file: string, configKey: string): string {
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

/** The argument a config value stands for (see ConfigOption.toArgument). */
function toArgument(o: ConfigOption, value: ConfigValue): unknown {
    switch (o.toArgument) {
        case "keyValueMap":
            return parseKeyValues(value as string[], o.key);
        case "images":
            return parseImages(value as string[], o.key);
        case "fileText":
            return readFileText(value as string, o.key);
        case "zeroMeansUnset":
            return value === 0 ? undefined : value;
        default:
            return value;
    }
}

function setAt(target: Record<string, unknown>, path: string, value: unknown): void {
    const parts = path.split(".");
    let node = target;
    for (const part of parts.slice(0, -1)) {
        node = (node[part] ??= {}) as Record<string, unknown>;
    }
    node[parts[parts.length - 1]] = value;
}

/** The credentials as the component takes them: plain where they are not secret, so they are checked at once. */
export interface CredentialInputs {
    address: pulumi.Input<string>;
    username: pulumi.Input<string>;
    password: pulumi.Input<string>;
}

/** Every option that has an argument path, read from config; what config does not set, the component defaults. */
export function argsFromConfig(config: ConfigReader, credentials: CredentialInputs): DistributionRegistryArgs {
    const args: Record<string, unknown> = { ...credentials };
    for (const o of options) {
        if (o.path === undefined || credentialKeys.includes(o.key)) {
            continue;
        }
        const value = readOption(config, o);
        // A secret (an S3 key, the Redis password) is read as one: an Output the component never sees in plaintext.
        const argument = value === undefined ? undefined : o.secret ? config.getSecret(o.key) : toArgument(o, value);
        if (argument !== undefined) {
            setAt(args, o.path, argument);
        }
    }
    return args as unknown as DistributionRegistryArgs;
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
    const text = (key: string) => readOption(config, option(key)) as string | undefined;
    const configured: Record<string, string | undefined> = {
        address: text("address"),
        username: text("username"),
        password: (await knownValue(config.getSecret("password") ?? pulumi.output(""))) || undefined,
    };
    let terraform: { outputs: TerraformOutputs; origin: string } | undefined;
    if (credentialKeys.some(k => configured[k] === undefined)) {
        terraform = await readTerraformOutputs({
            dir: text("terraformDir") ?? (option("terraformDir").default as string),
            stateFile: text("terraformStateFile"),
            binary: text("terraformBinary") ?? (option("terraformBinary").default as string),
        });
    }
    const pick = (key: string, outputKey: string) => {
        const value = configured[key];
        if (value !== undefined) {
            return { value, sensitive: key === "password", input: key };
        }
        const name = text(outputKey) ?? (option(outputKey).default as string);
        return {
            value: outputString(terraform!.outputs, name, terraform!.origin, outputKey),
            sensitive: key === "password" || terraform!.outputs[name]?.sensitive === true,
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

/** Argument paths and their config keys, longest path first, so that "tls.mode" is not read inside "tls.modeX". */
const pathsToKeys = options
    .filter(o => o.path !== undefined)
    .map(o => [o.path!, o.key] as const)
    .sort((a, b) => b[0].length - a[0].length);

/** The config key an argument path is set by, e.g. "storage.accessMode" -> "storageAccessMode"; "workstation.push.images[0].tag" -> "pushImages[0].tag". */
export function configKeyOf(input: string): string {
    for (const [path, key] of pathsToKeys) {
        if (input === path || input.startsWith(`${path}[`) || input.startsWith(`${path}.`)) {
            return key + input.slice(path.length);
        }
    }
    return input;
}

/** The error in config terms: the input and every argument path its text names become config keys. */
export function inConfigTerms(e: InputError): InputError {
    const rename = (text: string) =>
        text.replace(/\b[a-z][A-Za-z0-9]*(?:\.[a-z][A-Za-z0-9]*)+(?:\[\d+\](?:\.[a-z][A-Za-z0-9]*)*)?/g, path =>
            configKeyOf(path),
        );
    return new InputError(configKeyOf(e.input), rename(e.problem), rename(e.fix));
}
