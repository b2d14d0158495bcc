import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { HostsEntryArgs } from "../args";
import { defaults } from "../defaults";
import { scriptCommand } from "./commandScript";

/** The `<address> <hostname> # distribution-registry: <owner>` line; an address change rewrites it in place. */
export function createHostsEntry(
    name: string,
    target: { address: pulumi.Input<string>; hostname: pulumi.Input<string>; owner: pulumi.Input<string> },
    args: HostsEntryArgs,
    opts: pulumi.CustomResourceOptions,
): command.local.Command {
    const file = args.file ?? defaults.workstation.hostsEntry.file;
    return scriptCommand(
        `${name}-hosts-entry`,
        {
            script: "hostsEntry.js",
            createAction: "add",
            deleteAction: "remove",
            environment: {
                DR_HOSTS_FILE: file,
                DR_ADDRESS: target.address,
                DR_HOSTNAME: target.hostname,
                DR_OWNER: target.owner,
                DR_SUDO: args.sudo ?? defaults.workstation.hostsEntry.sudo,
            },
            // Another file or hostname is another line: remove the old one first (it is a singleton per owner).
            triggers: [file, target.hostname, target.owner],
        },
        { ...opts, deleteBeforeReplace: true },
    );
}
