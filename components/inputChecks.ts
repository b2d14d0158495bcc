import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { DistributionRegistryArgs } from "./args";
import { HtpasswdUser } from "./htpasswd";
import { PlainSettingsArgs, defaults, settingsFromArgs, usersFromArgs } from "./settings";
import { dockerTrustModeOf, tlsModeOf } from "./tls";
import { InputError, pushTools, sudoModes, trustModes, validateAddress, validateChoice } from "./validation";
import { argumentNames, checkWorkstationFiles } from "./workstation/preflight";
import { resolveImages, ResolvedImage } from "./workstation/images";

/*
 * Every input that is a plain value is checked here, synchronously, before the component registers anything:
 * an error thrown inside an Output reaches the user behind one "error serializing property" prefix per
 * resource that waited on it, and only after other resources were created. Inputs that are Outputs are
 * checked again when they resolve (resolveInputs), as before.
 */

/** Whether a value holds no Output or Promise anywhere: it can be checked now. */
export function isPlain(value: unknown): boolean {
    if (pulumi.Output.isInstance(value) || value instanceof Promise) {
        return false;
    }
    if (Array.isArray(value)) {
        return value.every(isPlain);
    }
    if (value !== null && typeof value === "object") {
        return Object.values(value).every(isPlain);
    }
    return true;
}

function checkChoiceIfPlain(value: unknown, allowed: readonly string[], input: string): void {
    if (value !== undefined && isPlain(value)) {
        validateChoice(String(value), allowed, input);
    }
}

/** The workstation's choices and values; a typo must not become the default. */
function checkWorkstationArgs(name: string, args: DistributionRegistryArgs): void {
    const w = args.workstation ?? {};
    checkChoiceIfPlain(w.hostsEntry?.sudo, sudoModes, "workstation.hostsEntry.sudo");
    checkChoiceIfPlain(w.dockerTrust?.mode, trustModes, "workstation.dockerTrust.mode");
    checkChoiceIfPlain(w.dockerTrust?.sudo, sudoModes, "workstation.dockerTrust.sudo");
    checkChoiceIfPlain(w.push?.tool, pushTools, "workstation.push.tool");
    if (typeof w.owner === "string" && (w.owner.length === 0 || /[\r\n]/.test(w.owner))) {
        throw new InputError(
            "workstation.owner",
            "is empty or has a line break",
            'Give a single line that names this stack, e.g. "project/stack/name".',
        );
    }
    const trust = w.dockerTrust ?? {};
    const tlsMode = tlsModeOf(args.tls);
    if (tlsMode === "generated" && trust.caCertificate !== undefined) {
        throw new InputError(
            "workstation.dockerTrust.caCertificate",
            'is set while tls.mode is "generated", which brings its own CA',
            'Unset it (Docker then trusts the generated CA), or use tls.mode "secret" for a certificate that CA signed.',
        );
    }
    if (trust.mode === "ca" && trust.caCertificate === undefined && tlsMode !== "generated") {
        throw new InputError(
            "workstation.dockerTrust.caCertificate",
            `is needed for the trust mode "ca" with tls.mode "${tlsMode}"`,
            'Give the PEM CA certificate that signed the registry\'s certificate, or use tls.mode "generated" (the default), which makes one.',
        );
    }
    if (typeof trust.caCertificate === "string" && trust.mode === "ca") {
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
    const hostname = args.hostname === undefined ? defaults.hostname : args.hostname;
    const owner = w.owner === undefined ? defaultOwner(name) : w.owner;
    const line =
        typeof hostname === "string" && typeof args.address === "string" && typeof owner === "string"
            ? { hostname, address: args.address, owner }
            : undefined;
    checkWorkstationFiles(
        { ...w, dockerTrust: { ...trust, mode: dockerTrustModeOf(tlsMode, trust) } },
        argumentNames,
        undefined,
        line,
    );
}

/** The owner the component gives its hosts line and daemon.json record when none is set. */
export function defaultOwner(name: string): string {
    return `${pulumi.getProject()}/${pulumi.getStack()}/${name}`;
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
            "Use e.g. 300 (the default).",
        );
    }
}

/**
 * Checks every plain input; throws InputError naming the first bad one. Returns the resolved images, which the
 * component needs as plain values anyway.
 */
export function checkPlainInputs(name: string, args: DistributionRegistryArgs): ResolvedImage[] {
    if (args.address !== undefined && isPlain(args.address)) {
        validateAddress(args.address as string);
    }
    const users = [{ username: args.username, password: args.password }, ...(args.extraUsers ?? [])];
    if (users.every(u => isPlain(u.username) && isPlain(u.password))) {
        usersFromArgs(users as HtpasswdUser[]);
    }
    const {
        address: _a,
        username: _u,
        password: _p,
        extraUsers: _e,
        workstation: _w,
        verification: _v,
        imagePullSecretNamespaces: _n,
        ...settingsArgs
    } = args;
    if (isPlain(settingsArgs)) {
        settingsFromArgs(name, settingsArgs as PlainSettingsArgs);
    }
    checkWorkstationArgs(name, args);
    checkVerificationArgs(args);
    const push = args.workstation?.push;
    const tool = push?.tool === undefined ? "docker" : typeof push.tool === "string" ? push.tool : undefined;
    return push?.enabled === false ? [] : resolveImages(push?.images, tool);
}
