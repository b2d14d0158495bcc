import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { WorkstationArgs } from "../args";
import { createDockerTrust } from "./dockerTrust";
import { createHostsEntry } from "./hostsEntry";
import { createImagePush } from "./imagePush";
import { ResolvedImage } from "./images";
import { TrustPlan } from "../tls/trust";

export { registryAuthority } from "./dockerTrust";
export { pushedDigestsOf } from "./imagePush";
export { resolveImages, ResolvedImage } from "./images";

/** The operator's machine's side: what the seed does by hand with sudo, docker login and docker push. */
export interface Workstation {
    hostsEntry?: command.local.Command;
    dockerTrust?: command.local.Command;
    imagePush?: command.local.Command;
}

export interface WorkstationTarget {
    hostname: pulumi.Input<string>;
    address: pulumi.Input<string>;
    /** host, or host:port when the port is not 443. */
    registry: pulumi.Input<string>;
    username: pulumi.Input<string>;
    password: pulumi.Input<string>;
    owner: pulumi.Input<string>;
    /** How Docker, skopeo and the checks trust the registry's certificate. */
    trust: TrustPlan;
}

/**
 * Hosts entry and Docker trust run beside the Kubernetes resources; the push waits for them and for
 * `workloadReady` (the Deployment's rollout and the Ingress).
 */
export function createWorkstation(
    name: string,
    target: WorkstationTarget,
    args: WorkstationArgs,
    images: ResolvedImage[],
    workloadReady: pulumi.Resource[],
    opts: pulumi.CustomResourceOptions,
): Workstation {
    const hostsEntry =
        args.hostsEntry?.enabled === false ? undefined : createHostsEntry(name, target, args.hostsEntry ?? {}, opts);
    const trust = args.dockerTrust ?? {};
    const dockerTrust = createDockerTrust(
        name,
        target.registry,
        target.owner,
        { ...trust, mode: target.trust.dockerMode, caCertificate: target.trust.caCertificate },
        opts,
    );
    const imagePush =
        args.push?.enabled === false || images.length === 0
            ? undefined
            : createImagePush(
                  name,
                  {
                      registry: target.registry,
                      username: target.username,
                      password: target.password,
                      verify: target.trust.verify,
                  },
                  images,
                  args.push ?? {},
                  {
                      ...opts,
                      dependsOn: [
                          ...workloadReady,
                          ...(hostsEntry ? [hostsEntry] : []),
                          ...(dockerTrust ? [dockerTrust] : []),
                      ],
                  },
              );
    return { hostsEntry, dockerTrust, imagePush };
}
