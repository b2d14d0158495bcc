import * as childProcess from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { copyProgramSources } from "../support/programSources";
import { run, toolsBin } from "./realNode";

const repo = path.resolve(__dirname, "..", "..");

/** A copy of the program as a user has it, with a stack on a local backend, run by the real CLI. */
export interface PulumiProject {
    dir: string;
    env: NodeJS.ProcessEnv;
    /** Runs the CLI (in a private mount namespace where /etc/hosts and /etc/docker are the given copies, if any). */
    cli(step: string, args: string[]): Promise<{ code: number | null; output: string; seconds: number }>;
    /** The stack's outputs, secrets shown as "[secret]", or in plaintext with `showSecrets`. */
    outputs(stack: string, options?: { showSecrets?: boolean }): any;
    /** `pulumi stack export`: the state as it is stored. */
    /** `pulumi stack export`: secrets as ciphertext, or in plaintext with `showSecrets`. */
    exportState(stack: string, options?: { showSecrets?: boolean }): string;
}

export interface ProjectOptions {
    work: string;
    /** Bound over /etc/hosts and /etc/docker for the CLI and everything it starts; none: the machine's own. */
    hostsFile?: string;
    dockerEtc?: string;
    kubeconfig: string;
    /** More environment, e.g. DOCKER_HOST. */
    env?: Record<string, string>;
    /** Of the stack's secrets. Default: a fixed test passphrase. */
    passphrase?: string;
    /** Print each run's last lines. Default: true. */
    verbose?: boolean;
}

/**
 * Writes into `dir` the shim the CLI's release archive ships for dynamic providers (a CLI built from source has
 * none), doing what it does: resolve @pulumi/pulumi's dynamic-provider host from the folder the engine runs it in
 * (the program's), then run it with the engine's arguments.
 */
export function writeDynamicProviderShim(dir: string): void {
    fs.writeFileSync(
        path.join(dir, "pulumi-resource-pulumi-nodejs"),
        "#!/bin/sh\n" +
            "host=$(node -e \"console.log(require.resolve('@pulumi/pulumi/cmd/dynamic-provider'))\") || exit 1\n" +
            'exec node "$host" "$@"\n',
        { mode: 0o755 },
    );
}

/** A project of one JavaScript file, in a folder of its own with a stack on a local backend: no cluster. */
export interface ScratchProject {
    dir: string;
    /** Runs the real CLI there on the stack `dev`, with `env` added; returns its stdout, throws on failure. */
    pulumi(args: string[], env?: Record<string, string>): string;
    remove(): void;
}

/** `pulumiYaml` is appended to the project's Pulumi.yaml (name and runtime). */
export function makeScratchProject(name: string, program: string, pulumiYaml = ""): ScratchProject {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `dr-${name}-`));
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), `name: ${name}\nruntime: nodejs\n${pulumiYaml}`);
    fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name, main: "index.js" }));
    fs.writeFileSync(path.join(dir, "index.js"), program);
    fs.symlinkSync(path.join(repo, "node_modules"), path.join(dir, "node_modules"));
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin);
    writeDynamicProviderShim(bin);
    fs.mkdirSync(path.join(dir, "state"));
    const env = (more: Record<string, string>): NodeJS.ProcessEnv => ({
        PATH: `${bin}:${toolsBin}:${process.env.PATH}`,
        HOME: dir,
        PULUMI_HOME: path.join(dir, "pulumi-home"),
        PULUMI_BACKEND_URL: `file://${path.join(dir, "state")}`,
        PULUMI_CONFIG_PASSPHRASE: name,
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        ...more,
    });
    run("pulumi", ["stack", "init", "dev", "--non-interactive"], { cwd: dir, env: env({}) });
    return {
        dir,
        pulumi: (args, more = {}) =>
            run("pulumi", [...args, "--non-interactive", "--stack", "dev"], { cwd: dir, env: env(more) }),
        remove: () => fs.rmSync(dir, { recursive: true, force: true }),
    };
}

export function makePulumiProject(o: ProjectOptions): PulumiProject {
    const dir = path.join(o.work, "project");
    fs.mkdirSync(dir);
    copyProgramSources(dir);
    const shims = path.join(o.work, "bin");
    fs.mkdirSync(shims);
    writeDynamicProviderShim(shims);
    // Debian's docker CLI, the one packaged with the engine the test runs.
    fs.symlinkSync("/usr/bin/docker", path.join(shims, "docker"));
    const logs = path.join(o.work, "logs");
    fs.mkdirSync(logs, { recursive: true });
    const env: NodeJS.ProcessEnv = {
        PATH: `${shims}:${toolsBin}:${process.env.PATH}`,
        HOME: path.join(o.work, "home"),
        PULUMI_HOME: path.join(o.work, "pulumi-home"),
        PULUMI_BACKEND_URL: `file://${path.join(o.work, "state")}`,
        PULUMI_CONFIG_PASSPHRASE: o.passphrase ?? "e2e passphrase",
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
        KUBECONFIG: o.kubeconfig,
        TMPDIR: os.tmpdir(),
        ...o.env,
    };
    fs.mkdirSync(path.join(o.work, "state"));
    fs.mkdirSync(env.HOME!);
    return {
        dir,
        env,
        cli(step, args) {
            const script =
                'mount --bind "$1" /etc/hosts && mount --bind "$2" /etc/docker && shift 2 && exec pulumi "$@"';
            const started = Date.now();
            const child =
                o.hostsFile && o.dockerEtc
                    ? childProcess.spawn(
                          "unshare",
                          [
                              "--mount",
                              "--propagation",
                              "private",
                              "sh",
                              "-c",
                              script,
                              "sh",
                              o.hostsFile,
                              o.dockerEtc,
                              ...args,
                          ],
                          { cwd: dir, env },
                      )
                    : childProcess.spawn("pulumi", args, { cwd: dir, env });
            let output = "";
            child.stdout.on("data", d => {
                output += d;
            });
            child.stderr.on("data", d => {
                output += d;
            });
            return new Promise(resolve =>
                child.on("close", code => {
                    const seconds = (Date.now() - started) / 1000;
                    fs.writeFileSync(path.join(logs, `${step}.log`), output);
                    if (o.verbose !== false)
                        console.log(
                            `[${step}] pulumi ${args.join(" ")} (exit ${code}, ${seconds.toFixed(1)} s), last lines:\n` +
                                output.split("\n").slice(-20).join("\n"),
                        );
                    resolve({ code, output, seconds });
                }),
            );
        },
        outputs(stack, options = {}) {
            const show = options.showSecrets ? ["--show-secrets"] : [];
            return JSON.parse(
                run("pulumi", ["stack", "output", "--json", ...show, "--stack", stack], { cwd: dir, env }),
            );
        },
        exportState(stack, options = {}) {
            const show = options.showSecrets ? ["--show-secrets"] : [];
            return run("pulumi", ["stack", "export", ...show, "--stack", stack], { cwd: dir, env });
        },
    };
}
