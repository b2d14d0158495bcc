import * as childProcess from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";

/**
 * Reads the machine's address and the registry credentials from a Terraform (or OpenTofu) stack.
 * It feeds the component; the component knows nothing of Terraform.
 */

/** Where the Terraform outputs come from: a configuration directory (run `output -json`) or a state file. */
export interface TerraformSource {
    /** Directory of the Terraform configuration; `<binary> -chdir=<dir> output -json` is run there. */
    dir?: string;
    /** A local state file (format version 4) read directly, without Terraform; wins over dir. */
    stateFile?: string;
    /** The Terraform binary; "tofu" for OpenTofu. Default: "terraform". */
    binary?: string;
}

/** Names of the three outputs. */
export interface TerraformOutputNames {
    /** Default: "vm_public_ip". */
    address: string;
    /** Default: "container_registry_username". */
    username: string;
    /** Default: "container_registry_password". */
    password: string;
}

/** Where the program looks when config names no other place: the seed's layout, and Terraform itself. */
export const terraformDefaults = { dir: "../../infra", binary: "terraform" };

export const defaultOutputNames: TerraformOutputNames = {
    address: "vm_public_ip",
    username: "container_registry_username",
    password: "container_registry_password",
};

/** One output as Terraform prints it with `output -json`. */
export interface TerraformOutput {
    value: unknown;
    sensitive?: boolean;
    type?: unknown;
}

export type TerraformOutputs = Record<string, TerraformOutput>;

/** The values the component needs; the password is always a secret, the others when Terraform marks them sensitive. */
export interface RegistryCredentials {
    address: pulumi.Output<string>;
    username: pulumi.Output<string>;
    password: pulumi.Output<string>;
}

/** A RunError: the runtime prints the sentence alone, since it is the user's to fix, not our bug. */
export class TerraformError extends pulumi.RunError {
    constructor(message: string) {
        super(message);
        this.name = "TerraformError";
    }
}

/** Parses `terraform output -json`. */
export function parseOutputsJson(text: string, origin: string): TerraformOutputs {
    const parsed = parseJson(text, origin);
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
        throw new TerraformError(
            `${origin}: expected a JSON object of outputs, got ${Array.isArray(parsed) ? "an array" : typeof parsed}.`,
        );
    }
    return parsed as TerraformOutputs;
}

/** Reads the outputs of a local state file: format version 4 (Terraform 0.12 and later, OpenTofu) keeps them under `.outputs`. */
export function parseStateFile(text: string, origin: string): TerraformOutputs {
    const state = parseJson(text, origin) as { version?: unknown; outputs?: unknown } | null;
    if (typeof state !== "object" || state === null || Array.isArray(state)) {
        throw new TerraformError(
            `${origin}: not a Terraform state file (expected a JSON object with "version" and "outputs").`,
        );
    }
    if (state.version !== 4) {
        throw new TerraformError(
            `${origin}: state format version ${JSON.stringify(state.version)} is not supported; only version 4 ` +
                "(Terraform 0.12+ or OpenTofu) is read. Run `terraform apply` with a current Terraform to upgrade it, or set terraformDir instead of terraformStateFile.",
        );
    }
    const outputs = state.outputs ?? {};
    if (typeof outputs !== "object" || Array.isArray(outputs)) {
        throw new TerraformError(`${origin}: "outputs" is not an object.`);
    }
    return outputs as TerraformOutputs;
}

function parseJson(text: string, origin: string): unknown {
    try {
        return JSON.parse(text);
    } catch (e) {
        throw new TerraformError(
            `${origin}: not valid JSON (${(e as Error).message}). Check that the file is a Terraform state or \`output -json\` result.`,
        );
    }
}

/** Runs `<binary> -chdir=<dir> output -json`, without a shell, and parses what it prints. */
export async function runTerraformOutput(dir: string, binary = terraformDefaults.binary): Promise<TerraformOutputs> {
    const absolute = path.resolve(dir);
    if (!fs.existsSync(absolute) || !fs.statSync(absolute).isDirectory()) {
        throw new TerraformError(
            `terraformDir: directory ${absolute} does not exist. Set terraformDir to the Terraform configuration ` +
                "that created the machine, or terraformStateFile to its state file.",
        );
    }
    const stdout = await new Promise<string>((resolve, reject) => {
        childProcess.execFile(
            binary,
            [`-chdir=${absolute}`, "output", "-json"],
            { env: { ...process.env, TF_IN_AUTOMATION: "1" }, maxBuffer: 64 * 1024 * 1024 },
            (error, out, err) => {
                if (!error) {
                    resolve(out);
                } else if ((error as NodeJS.ErrnoException).code === "ENOENT") {
                    reject(
                        new TerraformError(
                            `terraformBinary: "${binary}" was not found on PATH. Install Terraform, set terraformBinary ` +
                                'to "tofu" for OpenTofu (or a full path), or set terraformStateFile to read a state file instead.',
                        ),
                    );
                } else {
                    reject(
                        new TerraformError(
                            `terraformDir: \`${binary} output -json\` failed in ${absolute} (exit ${error.code}): ${String(err).trim()}. ` +
                                "Run `terraform init` and `terraform apply` there first.",
                        ),
                    );
                }
            },
        );
    });
    return parseOutputsJson(stdout, `\`${binary} output -json\` in ${absolute}`);
}

/** Reads the outputs from whichever source is configured. */
export async function readTerraformOutputs(
    source: TerraformSource,
): Promise<{ outputs: TerraformOutputs; origin: string }> {
    if (source.stateFile) {
        const file = path.resolve(source.stateFile);
        let text: string;
        try {
            text = await fs.promises.readFile(file, "utf8");
        } catch (e) {
            throw new TerraformError(
                `terraformStateFile: cannot read ${file} (${(e as NodeJS.ErrnoException).code}). ` +
                    "Give the path of the terraform.tfstate that holds the outputs, or unset it to run Terraform in terraformDir.",
            );
        }
        return { outputs: parseStateFile(text, `terraformStateFile ${file}`), origin: `state file ${file}` };
    }
    if (source.dir) {
        const binary = source.binary ?? terraformDefaults.binary;
        return {
            outputs: await runTerraformOutput(source.dir, binary),
            origin: `\`${binary} output\` in ${path.resolve(source.dir)}`,
        };
    }
    throw new TerraformError("Neither terraformDir nor terraformStateFile is set: set one of them.");
}

/** The string value of one named output, or an error naming it and what the source does have. */
export function outputString(outputs: TerraformOutputs, name: string, origin: string, configKey: string): string {
    const output = outputs[name];
    if (output === undefined) {
        const present = Object.keys(outputs);
        throw new TerraformError(
            `${configKey}: Terraform output "${name}" not found in ${origin} (it has: ${present.length ? present.join(", ") : "no outputs"}). ` +
                `Add the output to the Terraform configuration and apply, or set ${configKey} to the name yours has.`,
        );
    }
    if (typeof output.value !== "string") {
        throw new TerraformError(
            `${configKey}: Terraform output "${name}" in ${origin} is a ${typeof output.value}, not a string. ` +
                `Set ${configKey} to the name of the output that holds it as a string.`,
        );
    }
    return output.value;
}

/**
 * The address and credentials as Outputs. The whole set of outputs is a secret from the moment it is
 * read; only values Terraform does not mark sensitive are unsecreted, and the password never is.
 */
export function registryCredentialsFromTerraform(
    source: TerraformSource,
    names: TerraformOutputNames = defaultOutputNames,
): RegistryCredentials {
    const read = pulumi.secret(pulumi.output(readTerraformOutputs(source)));
    const pick = (name: string, configKey: string, alwaysSecret: boolean): pulumi.Output<string> => {
        const value = read.apply(r => outputString(r.outputs, name, r.origin, configKey));
        const sensitive = read.apply(r => r.outputs[name]?.sensitive === true);
        return alwaysSecret ? value : pulumi.unsecret(sensitive).apply(s => (s ? value : pulumi.unsecret(value)));
    };
    return {
        address: pick(names.address, "terraformAddressOutput", false),
        username: pick(names.username, "terraformUsernameOutput", false),
        password: pick(names.password, "terraformPasswordOutput", true),
    };
}
