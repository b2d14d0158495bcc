import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { ImagePushArgs } from "../args";
import { defaults } from "../defaults";
import { TlsSettings } from "../verification/registryClient";
import { ResolvedImage } from "./images";
import { scriptCommand } from "./commandScript";

export interface PushTarget {
    /** host, or host:port when the port is not 443. */
    registry: pulumi.Input<string>;
    username: pulumi.Input<string>;
    /** Secret; reaches the script on stdin only. */
    password: pulumi.Input<string>;
    /** How skopeo verifies the registry's certificate (docker goes by the daemon's trust): as the checks do. */
    verify: pulumi.Input<TlsSettings>;
}

/** "repository:tag" -> digest, from the push Command's stdout (the report of pushImages.js); {} when it holds none. */
export function pushedDigestsOf(stdout: string | undefined): Record<string, string> {
    try {
        const digests = JSON.parse(stdout ?? "").digests;
        return digests && typeof digests === "object"
            ? (Object.fromEntries(
                  Object.entries(digests).filter(([, d]) => typeof d === "string" && d !== ""),
              ) as Record<string, string>)
            : {};
    } catch (_) {
        return {};
    }
}

/** Login and push of every image; reruns when the images, the registry or the password change, and not otherwise. */
export function createImagePush(
    name: string,
    target: PushTarget,
    images: ResolvedImage[],
    args: ImagePushArgs,
    opts: pulumi.CustomResourceOptions,
): command.local.Command {
    const tool = args.tool ?? defaults.workstation.push.tool;
    return scriptCommand(
        `${name}-image-push`,
        {
            script: "pushImages.js",
            createAction: "push",
            deleteAction: "remove",
            environment: {
                DR_PUSH_TOOL: tool,
                DR_REGISTRY: target.registry,
                DR_USERNAME: target.username,
                DR_IMAGES: JSON.stringify(images),
                DR_TLS_MODE: pulumi.output(target.verify).apply(v => v.mode),
                DR_CA_CERTIFICATE: pulumi.output(target.verify).apply(v => v.caCertificate ?? ""),
            },
            stdin: pulumi.secret(target.password),
            // Another tool or registry: undo the old login and tags (delete) rather than leave them behind.
            triggers: [tool, target.registry],
        },
        opts,
    );
}
