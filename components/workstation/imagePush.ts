import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { ImagePushArgs } from "../args";
import { ResolvedImage } from "./images";
import { scriptCommand } from "./commandScript";

export interface PushTarget {
    /** host, or host:port when the port is not 443. */
    registry: pulumi.Input<string>;
    username: pulumi.Input<string>;
    /** Secret; reaches the script on stdin only. */
    password: pulumi.Input<string>;
    /** How the push tool trusts the registry: as Docker was told to. */
    tlsMode: "insecure" | "ca" | "none";
    /** Docker's certs.d directory (for skopeo in "ca" mode). */
    certsDir: pulumi.Input<string>;
}

/** Login and push of every image; reruns when the images, the registry or the password change, and not otherwise. */
export function createImagePush(name: string, target: PushTarget, images: ResolvedImage[], args: ImagePushArgs,
    opts: pulumi.CustomResourceOptions): command.local.Command {
    const tool = args.tool ?? "docker";
    return scriptCommand(`${name}-image-push`, {
        script: "pushImages.js",
        createAction: "push",
        deleteAction: "remove",
        environment: {
            DR_PUSH_TOOL: tool,
            DR_REGISTRY: target.registry,
            DR_USERNAME: target.username,
            DR_IMAGES: JSON.stringify(images),
            DR_TLS_MODE: target.tlsMode,
            DR_CERT_DIR: pulumi.all([target.certsDir, target.registry]).apply(([dir, registry]) => path.join(dir, registry)),
        },
        stdin: pulumi.secret(target.password),
        // Another tool or registry: undo the old login and tags (delete) rather than leave them behind.
        triggers: [tool, target.registry],
    }, opts);
}
