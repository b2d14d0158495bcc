import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { bundleScript, scriptsDirectory } from "./scriptBundle";

/** What every workstation Command shares: a script run by Node for create (and update) and for delete. */
export interface ScriptCommandArgs {
    /** The script's file name in scripts/. */
    script: string;
    /** Action run on create and update. */
    createAction: string;
    /** Action run on delete, with the state's environment and PULUMI_COMMAND_STDOUT. */
    deleteAction: string;
    /** Every value of the user's, passed as environment, never in the command text. */
    environment: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /** A change of any of these replaces the resource (delete, then create) instead of rerunning create. */
    triggers: pulumi.Input<unknown[]>;
    /** Standard input of create (the password). */
    stdin?: pulumi.Input<string>;
}

export function scriptCommand(
    name: string,
    args: ScriptCommandArgs,
    opts: pulumi.CustomResourceOptions,
): command.local.Command {
    const file = path.join(scriptsDirectory, args.script);
    return new command.local.Command(
        name,
        {
            // Node runs the Pulumi program, so it is on every workstation that runs these; the scripts need nothing else.
            interpreter: ["node", "-e"],
            create: bundleScript(file, args.createAction),
            delete: bundleScript(file, args.deleteAction),
            environment: args.environment,
            stdin: args.stdin,
            triggers: args.triggers,
            logging: "stdoutAndStderr",
        },
        opts,
    );
}
