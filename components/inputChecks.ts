import * as crypto from "crypto";
import { DistributionRegistryArgs, DockerTrustMode, PushTool, SudoMode, TlsMode } from "./args";
import { defaultPullUsername, defaults } from "./defaults";
import { RegistryPlan } from "./plan";
import { checkAccounts, PlainSettingsArgs, settingsArgsOf, settingsFromArgs } from "./settings";
import { InputError, isPlain, validateAddress, validateChoice, validateSecretValue } from "./validation";
import { checkWorkstationFiles } from "./workstation/preflight";

/*
 * Every input that is a plain value is checked here, synchronously, before the component registers anything:
 * an error thrown inside an Output reaches the user behind one "error serializing property" prefix per
 * resource that waited on it, and only after other resources were created. Inputs that are Outputs are
 * checked when they resolve (settings.ts).
 */

function checkChoiceIfPlain(value: unknown, choices: Record<string, string>, input: string): void {
    if (value !== undefined && isPlain(value)) {
        validateChoice(value, choices, input);
    }
}

/** The workstation's choices and values; a typo must not become the default. */
function checkWorkstationArgs(args: DistributionRegistryArgs, plan: RegistryPlan): void {
    const w = args.workstation ?? {};
    checkChoiceIfPlain(w.hostsEntry?.sudo, SudoMode, "workstation.hostsEntry.sudo");
    checkChoiceIfPlain(w.dockerTrust?.sudo, SudoMode, "workstation.dockerTrust.sudo");
    checkChoiceIfPlain(w.push?.tool, PushTool, "workstation.push.tool");
    if (typeof w.owner === "string" && (w.owner.length === 0 || /[\r\n]/.test(w.owner))) {
        throw new InputError(
            "workstation.owner",
            "is empty or has a line break",
            'Give a single line that names this stack, e.g. "project/stack/name".',
        );
    }
    const trust = w.dockerTrust ?? {};
    if (plan.tlsMode === TlsMode.Generated && trust.caCertificate !== undefined) {
        throw new InputError(
            "workstation.dockerTrust.caCertificate",
            'is set while tls.mode is "generated", which brings its own CA',
            'Unset it (Docker then trusts the generated CA), or use tls.mode "secret" for a certificate that CA signed.',
        );
    }
    if (
        plan.dockerTrustMode === DockerTrustMode.Ca &&
        trust.caCertificate === undefined &&
        plan.tlsMode !== TlsMode.Generated
    ) {
        throw new InputError(
            "workstation.dockerTrust.caCertificate",
            `is needed for the trust mode "ca" with tls.mode "${plan.tlsMode}"`,
            'Give the PEM CA certificate that signed the registry\'s certificate, or use tls.mode "generated" (the default), which makes one.',
        );
    }
    if (typeof trust.caCertificate === "string" && plan.dockerTrustMode === DockerTrustMode.Ca) {
        try {
            new crypto.X509Certificate(trust.caCertificate);
        } catch (e) {
            throw new InputError(
                "workstation.dockerTrust.caCertificate",
                `is not a PEM certificate (${(e as Error).message})`,
                'Give the CA certificate in PEM, "-----BEGIN CERTIFICATE-----"...',
            );
        }
    }
    if (trust.restartCommand !== undefined && isPlain(trust.restartCommand)) {
        const argv = trust.restartCommand as unknown[];
        if (!Array.isArray(argv) || !argv.every(a => typeof a === "string" && a.length > 0)) {
            throw new InputError(
                "workstation.dockerTrust.restartCommand",
                "is not a list of non-empty strings",
                'Give the command as argv, e.g. ["sudo","systemctl","restart","docker"].',
            );
        }
    }
    const hostname = args.hostname ?? defaults.hostname;
    const line =
        typeof hostname === "string" && typeof args.address === "string" && typeof plan.owner === "string"
            ? { hostname, address: args.address, owner: plan.owner }
            : undefined;
    checkWorkstationFiles(w, plan, undefined, line);
}

function checkVerificationArgs(args: DistributionRegistryArgs): void {
    const deadline = args.verification?.deadlineSeconds;
    if (
        deadline !== undefined &&
        isPlain(deadline) &&
        (typeof deadline !== "number" || !Number.isFinite(deadline) || deadline <= 0)
    ) {
        throw new InputError(
            "verification.deadlineSeconds",
            `${deadline} is not a number of seconds above zero`,
            `Use e.g. ${defaults.verification.deadlineSeconds} (the default).`,
        );
    }
}

/** Checks every plain input against the plan; throws InputError naming the first bad one. */
export function checkPlainInputs(name: string, args: DistributionRegistryArgs, plan: RegistryPlan): void {
    if (args.address !== undefined && isPlain(args.address)) {
        validateAddress(args.address as string);
    }
    const users = [{ username: args.username, password: args.password }, ...plainUsers(args.extraUsers)];
    const known = (value: unknown) => (isPlain(value) ? (value as string) : undefined);
    checkAccounts(
        users.map(u => ({ username: known(u.username), password: known(u.password) })),
        args.pullAccount?.username ?? defaultPullUsername(name),
    );
    const settingsArgs = settingsArgsOf(args);
    if (isPlain(settingsArgs)) {
        settingsFromArgs(name, settingsArgs as PlainSettingsArgs, plan);
    }
    checkWorkstationArgs(args, plan);
    checkVerificationArgs(args);
    checkSecretInputs(args);
}

/** The S3 keys and the Redis password, when given as plain strings (an Output is checked when it resolves). */
function checkSecretInputs(args: DistributionRegistryArgs): void {
    const given: [unknown, string][] = [
        [args.storage?.s3?.accessKey, "storage.s3.accessKey"],
        [args.storage?.s3?.secretKey, "storage.s3.secretKey"],
        [args.redis?.password, "redis.password"],
    ];
    for (const [value, input] of given) {
        if (value !== undefined && isPlain(value)) {
            validateSecretValue(value, input);
        }
    }
}

/** The extra users when the list itself is plain (its passwords may still be Outputs); else none to check now. */
function plainUsers(extraUsers: DistributionRegistryArgs["extraUsers"]): { username: unknown; password: unknown }[] {
    return Array.isArray(extraUsers) ? extraUsers : [];
}
