import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as os from "os";
import * as path from "path";
import { DockerTrustArgs, DockerTrustMode } from "../args";
import { defaults } from "../defaults";
import { TrustPlan } from "../tls/trust";
import { scriptCommand } from "./commandScript";

/** Docker Desktop on macOS keeps its configuration in the user's home; Docker Engine on Linux in /etc/docker. */
export function defaultDockerPaths(platform: NodeJS.Platform = process.platform, home: string = os.homedir()) {
    const base = platform === "darwin" ? path.join(home, ".docker") : "/etc/docker";
    return { daemonConfig: path.join(base, "daemon.json"), certsDir: path.join(base, "certs.d") };
}

/** Docker names a registry by host, with the port only when it is not 443. */
export function registryAuthority(hostname: string, port: number): string {
    return port === 443 ? hostname : `${hostname}:${port}`;
}

/** Docker's trust of the registry as the trust plan says (none: nothing to do). */
export function createDockerTrust(
    name: string,
    target: { registry: pulumi.Input<string>; owner: pulumi.Input<string>; trust: TrustPlan },
    args: DockerTrustArgs,
    opts: pulumi.CustomResourceOptions,
): command.local.Command | undefined {
    const { registry, owner, trust } = target;
    const mode = trust.dockerMode;
    if (mode === DockerTrustMode.None) {
        return undefined;
    }
    const paths = defaultDockerPaths();
    const daemonConfig = args.daemonConfig ?? paths.daemonConfig;
    const certsDir = args.certsDir ?? paths.certsDir;
    return scriptCommand(
        `${name}-docker-trust`,
        {
            script: "dockerTrust.js",
            createAction: "add",
            deleteAction: "remove",
            environment: {
                DR_TRUST_MODE: mode,
                DR_REGISTRY: registry,
                DR_DAEMON_CONFIG: daemonConfig,
                DR_CERTS_DIR: certsDir,
                DR_CA_CERTIFICATE: trust.caCertificate ?? "",
                DR_RESTART_COMMAND: pulumi
                    .output(args.restartCommand ?? defaults.workstation.dockerTrust.restartCommand)
                    .apply(c => (c.length ? JSON.stringify(c) : "")),
                DR_SUDO: args.sudo ?? defaults.workstation.dockerTrust.sudo,
                // Names this stack in the ledger beside daemon.json, so that any stack can tell what is still needed.
                DR_OWNER: owner,
            },
            triggers: [mode, registry, daemonConfig, certsDir],
        },
        { ...opts, deleteBeforeReplace: true },
    );
}
