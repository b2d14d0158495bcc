import * as pulumi from "@pulumi/pulumi";
import { CatalogCheck, CheckTargetArgs, TagsCheck } from "./registryChecks";

export { CatalogCheck, TagsCheck } from "./registryChecks";
export { RegistryError, TlsSettings } from "./registryClient";

/** The registry as the checks reach it from this machine: hostname as SNI and Host, connecting to address:port. */
export type VerificationTarget = CheckTargetArgs;

export interface ExpectedImage {
    repository: string;
    tag: string;
}

export interface VerificationOptions {
    /** How long each check keeps retrying while the registry and its ingress come up, in seconds. */
    deadlineSeconds: pulumi.Input<number>;
    /** Delete, by digest, the manifest of an image removed from the list. */
    deleteRemovedImages: pulumi.Input<boolean>;
    /** "repository:tag" -> the digest the push reported; the checks wait for it, and a new push reruns them. Default: none. */
    pushedDigests?: pulumi.Input<Record<string, string>>;
}

/** An instance of Pulumi's Node.js dynamic-provider host (package pulumi-nodejs), which runs the checks. */
export class DynamicProviderHost extends pulumi.ProviderResource {
    constructor(name: string, opts?: pulumi.ResourceOptions) {
        super("pulumi-nodejs", name, {}, opts);
    }
}

export interface Verification {
    /** The checks' instance of the dynamic-provider host. */
    provider: DynamicProviderHost;
    catalog: CatalogCheck;
    /** One check per repository, in repository order. */
    tags: TagsCheck[];
    /** "repository:tag" -> manifest digest. */
    digests: pulumi.Output<Record<string, string>>;
}

/** Repository -> its expected tags, both sorted and without repeats, so that the list order makes no diff. */
export function tagsByRepository(images: ExpectedImage[]): Map<string, string[]> {
    const byRepository = new Map<string, string[]>();
    for (const repository of [...new Set(images.map(i => i.repository))].sort()) {
        byRepository.set(
            repository,
            [...new Set(images.filter(i => i.repository === repository).map(i => i.tag))].sort(),
        );
    }
    return byRepository;
}

/**
 * The TagsCheck's resource name. "/" becomes "..", which no repository name contains, so two repositories
 * never share a name and a name never depends on the other repositories: a renamed check would be a delete,
 * and a delete removes the images.
 */
export function tagsCheckName(name: string, repository: string): string {
    return `${name}-tags-${repository.split("/").join("..")}`;
}

/**
 * The checks, through the registry's HTTP API, that the pushed images are served: one catalog check for
 * all repositories and one tags check per repository. Every check gets `opts` (parent, dependsOn the push).
 */
export function createVerification(
    name: string,
    target: VerificationTarget,
    images: ExpectedImage[],
    options: VerificationOptions,
    opts: pulumi.CustomResourceOptions,
): Verification {
    const byRepository = tagsByRepository(images);
    const password = pulumi.secret(target.password);
    const common = {
        hostname: target.hostname,
        address: target.address,
        port: target.port,
        username: target.username,
        password,
        tls: target.tls,
        deadlineSeconds: options.deadlineSeconds,
    };
    // The checks' own instance of the dynamic-provider host, registered now: the engine starts it (a Node process,
    // about 0.4 s) while the rest registers, not after the push, at the end of every `up` and preview. Moving a
    // check from the default instance to this one is no change to it (same package, no config).
    const provider = new DynamicProviderHost(`${name}-checks`, { parent: opts.parent });
    const checkOpts = { ...opts, provider };
    const catalog = new CatalogCheck(
        `${name}-catalog`,
        { ...common, repositories: [...byRepository.keys()] },
        checkOpts,
    );
    const tags = [...byRepository].map(
        ([repository, repositoryTags]) =>
            new TagsCheck(
                tagsCheckName(name, repository),
                {
                    ...common,
                    repository,
                    tags: repositoryTags,
                    deleteRemovedImages: options.deleteRemovedImages,
                    pushedDigests: pulumi
                        .output(options.pushedDigests ?? {})
                        .apply(all =>
                            Object.fromEntries(
                                repositoryTags
                                    .filter(tag => all[`${repository}:${tag}`])
                                    .map(tag => [tag, all[`${repository}:${tag}`]]),
                            ),
                        ),
                },
                checkOpts,
            ),
    );
    const repositories = [...byRepository.keys()];
    const digests = pulumi.all(tags.map(t => t.digests)).apply(perRepository => {
        const all: Record<string, string> = {};
        perRepository.forEach((byTag, i) => {
            for (const [tag, digest] of Object.entries(byTag ?? {})) {
                all[`${repositories[i]}:${tag}`] = digest;
            }
        });
        return all;
    });
    return { provider, catalog, tags, digests };
}
