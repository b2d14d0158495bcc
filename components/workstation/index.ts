import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { WorkstationArgs } from "../args";
import { createDockerTrust } from "./dockerTrust";
import { createHostsEntry } from "./hostsEntry";
import { createImagePush } from "./imagePush";
import { RegistryPlan } from "../plan";
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
    plan: Pick<RegistryPlan, "hostsEntry" | "push" | "images">,
    workloadReady: pulumi.Resource[],
    opts: pulumi.CustomResourceOptions,
): Workstation {
    const hostsEntry = plan.hostsEntry ? createHostsEntry(name, target, args.hostsEntry ?? {}, opts) : undefined;
    const dockerTrust = createDockerTrust(name, target, args.dockerTrust ?? {}, opts);
    const imagePush = !plan.push
        ? undefined
        : createImagePush(
              name,
              {
                  registry: target.registry,
                  username: target.username,
                  password: target.password,
                  verify: target.trust.verify,
              },
              plan.images,
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
