import * as childProcess from "child_process";
import * as fs from "fs";
import * as path from "path";
import { DockerTrustMode, SudoMode, WorkstationArgs } from "../args";
import { defaults } from "../defaults";
import { RegistryPlan } from "../plan";
import { InputError } from "../validation";
import { defaultDockerPaths } from "./dockerTrust";

/*
 * The program runs on the workstation it edits, so at preview it can already read the files the Commands will
 * change: a missing hosts file, a malformed daemon.json or a file that cannot be written is reported before
 * any Kubernetes object exists, not after. Only plain paths are checked (an Output is not known yet).
 */

// The scripts' own reader of daemon.json, so that preview accepts and refuses exactly what `up` will.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS script with no types, also run by `node -e`
const { parseDaemonConfig } = require("./scripts/daemonConfig") as {
    parseDaemonConfig(text: string, file: string): unknown;
};
// And the hosts script's shadow check: a line of someone else's that maps the hostname elsewhere would win over ours.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS script with no types, also run by `node -e`
const { conflictingMappings } = require("./scripts/hostsEntry") as {
    conflictingMappings(
        text: string,
        hostname: string,
        address: string,
        owner: string,
    ): { line: string; number: number }[];
};

/** Whether `sudo -n` runs without asking for a password: what the scripts use for files this user cannot write. */
function sudoWorks(): boolean {
    return childProcess.spawnSync("sudo", ["-n", "true"], { stdio: "ignore", timeout: 10000 }).status === 0;
}

function isWritable(target: string): boolean {
    try {
        fs.accessSync(target, fs.constants.W_OK);
        return true;
    } catch (_) {
        return false;
    }
}

/** The file (or, when it may be missing, its directory) can be changed: directly, or with `sudo -n` when allowed. */
function checkWritable(target: string, input: string, sudo: string, sudoKey: string, canSudo: () => boolean): void {
    if (isWritable(target) || (sudo === SudoMode.Always && canSudo())) {
        return;
    }
    if (sudo === SudoMode.Never) {
        throw new InputError(
            input,
            `${target} is not writable by this user and ${sudoKey} is "never"`,
            `Make it writable, or set ${sudoKey} "auto" so that \`sudo -n\` writes it.`,
        );
    }
    if (!canSudo()) {
        throw new InputError(
            input,
            `${target} is not writable by this user and \`sudo -n\` cannot run without a password`,
            "Run `sudo -v` before `pulumi up`, or make the file writable.",
        );
    }
}

/** Reads a file that must exist: errors name the input and the fix instead of ENOENT or EISDIR. */
function readExisting(file: string, input: string, missingFix: string): string {
    try {
        return fs.readFileSync(file, "utf8");
    } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "ENOENT" || code === "ENOTDIR") {
            throw new InputError(input, `${file} does not exist`, missingFix);
        }
        if (code === "EISDIR") {
            throw new InputError(input, `${file} is a directory, not a file`, `Set ${input} to the file itself.`);
        }
        throw new InputError(
            input,
            `${file} cannot be read (${code})`,
            "Run as a user who may read it, or set the path of another file.",
        );
    }
}

function checkAbsolute(file: unknown, input: string, example: string): string {
    if (typeof file !== "string" || !path.isAbsolute(file)) {
        throw new InputError(
            input,
            `${JSON.stringify(file)} is not an absolute path`,
            `Give the full path, e.g. "${example}" ("~" is not expanded).`,
        );
    }
    return file;
}

/** The inputs the errors name: argument paths (the program turns them into its config keys). */
const names = {
    hostsFile: "workstation.hostsEntry.file",
    hostsSudo: "workstation.hostsEntry.sudo",
    daemonConfig: "workstation.dockerTrust.daemonConfig",
    certsDir: "workstation.dockerTrust.certsDir",
    dockerSudo: "workstation.dockerTrust.sudo",
    trustMode: "workstation.dockerTrust.mode",
    hostsEntry: "workstation.hostsEntry.enabled",
};

/** The hosts line this stack will write, when its parts are plain values. */
export interface HostsLine {
    hostname: string;
    address: string;
    owner: string;
}

/** Checks the workstation files the Commands will edit; throws InputError naming the input and the fix. */
export function checkWorkstationFiles(
    args: WorkstationArgs,
    plan: Pick<RegistryPlan, "hostsEntry" | "dockerTrustMode">,
    canSudo: () => boolean = sudoWorks,
    line?: HostsLine,
): void {
    let sudoChecked: boolean | undefined;
    const sudoOnce = () => (sudoChecked ??= canSudo());
    const hosts = args.hostsEntry ?? {};
    if (plan.hostsEntry && (typeof hosts.file === "string" || hosts.file === undefined)) {
        const file = checkAbsolute(hosts.file ?? defaults.workstation.hostsEntry.file, names.hostsFile, "/etc/hosts");
        const text = readExisting(
            file,
            names.hostsFile,
            `Set ${names.hostsFile} to the hosts file, or ${names.hostsEntry} false.`,
        );
        const conflicting = line ? conflictingMappings(text, line.hostname, line.address, line.owner) : [];
        if (conflicting.length > 0) {
            throw new InputError(
                names.hostsFile,
                `${file} line ${conflicting[0].number} ("${conflicting[0].line}") already maps ${line!.hostname} ` +
                    "to another address, and the first match wins",
                "Remove that line (the seed's manual entry?), or choose another hostname.",
            );
        }
        if (typeof hosts.sudo === "string" || hosts.sudo === undefined) {
            checkWritable(
                file,
                names.hostsFile,
                hosts.sudo ?? defaults.workstation.hostsEntry.sudo,
                names.hostsSudo,
                sudoOnce,
            );
        }
    }
    const trust = args.dockerTrust ?? {};
    const mode = plan.dockerTrustMode;
    const sudo =
        typeof trust.sudo === "string"
            ? trust.sudo
            : trust.sudo === undefined
              ? defaults.workstation.dockerTrust.sudo
              : undefined;
    if (
        mode === DockerTrustMode.Insecure &&
        (typeof trust.daemonConfig === "string" || trust.daemonConfig === undefined)
    ) {
        const file = checkAbsolute(
            trust.daemonConfig ?? defaultDockerPaths().daemonConfig,
            names.daemonConfig,
            "/etc/docker/daemon.json",
        );
        const dir = path.dirname(file);
        if (!fs.existsSync(dir)) {
            throw new InputError(
                names.daemonConfig,
                `the directory ${dir} does not exist (is Docker installed?)`,
                `Set ${names.daemonConfig} to Docker's daemon.json, or ${names.trustMode} "none".`,
            );
        }
        if (fs.existsSync(file)) {
            const text = readExisting(file, names.daemonConfig, "");
            try {
                parseDaemonConfig(text, file);
            } catch (e) {
                const { problem, fix } = e as { problem?: string; fix?: string };
                if (problem === undefined || fix === undefined) {
                    throw e;
                }
                throw new InputError(names.daemonConfig, `${file} ${problem}`, `${fix}.`);
            }
        }
        if (sudo !== undefined) {
            checkWritable(fs.existsSync(file) ? file : dir, names.daemonConfig, sudo, names.dockerSudo, sudoOnce);
        }
    }
    if (mode === DockerTrustMode.Ca && (typeof trust.certsDir === "string" || trust.certsDir === undefined)) {
        const certsDir = checkAbsolute(
            trust.certsDir ?? defaultDockerPaths().certsDir,
            names.certsDir,
            "/etc/docker/certs.d",
        );
        if (!fs.existsSync(path.dirname(certsDir))) {
            throw new InputError(
                names.certsDir,
                `the directory ${path.dirname(certsDir)} does not exist (is Docker installed?)`,
                `Set ${names.certsDir} to Docker's certs.d, or ${names.trustMode} "none".`,
            );
        }
    }
}
