import * as pulumi from "@pulumi/pulumi";
import { isRepositoryName, isTagName } from "../validation";
import {
    RegistryEndpoint,
    RegistryError,
    RequestCounter,
    TlsSettings,
    catalogPage,
    deleteManifest,
    deleteTag,
    describeEndpoint,
    findRepositories,
    isRetryable,
    listTags,
    manifestDigest,
} from "./registryClient";
import { providerText } from "./providerText";

/*
 * The checks as Pulumi dynamic resources. Each provider object below is serialized with Pulumi's closure
 * serializer (providerText.ts: once per build) and the engine runs it in its dynamic-provider host, a separate
 * process: the providers' methods call only the plain functions of this module and of registryClient.ts (serialized by value with them),
 * capture no clients or class instances, and keep everything they need later (digests for a delete) in
 * their outputs. `pulumi` is used only for types and by the Resource classes, never inside a provider.
 */

/** The registry as the checks reach it; plain values, as the provider receives them. */
export interface TargetState {
    hostname: string;
    address: string;
    port: number;
    username: string;
    password: string;
    tls: TlsSettings;
}

export interface CatalogCheckState extends TargetState {
    /** Repositories the catalog must list. */
    repositories: string[];
    /** How long to keep retrying, in seconds. */
    deadlineSeconds: number;
}

export interface TagsCheckState extends TargetState {
    repository: string;
    /** Tags the repository must hold. */
    tags: string[];
    deadlineSeconds: number;
    /** Delete, by digest, the manifest of a tag that is no longer expected (and all on delete). */
    deleteRemovedImages: boolean;
    /** tag -> the digest the push reported: the check waits until the registry serves it. A new push reruns the check. */
    pushedDigests?: Record<string, string>;
    /** Output: tag -> manifest digest, as last checked. */
    digests?: Record<string, string>;
}

/** Backoff between attempts: first wait, doubled after each attempt up to the cap. */
export interface RetryPolicy {
    deadlineMs: number;
    firstDelayMs?: number;
    maxDelayMs?: number;
    /** Longest single request; shortened near the deadline. Default: 10000. */
    requestTimeoutMs?: number;
}

// Short and frequent: while the registry comes up an attempt costs one refused connection or one small HTTPS
// request, and the wait after it is ready is at most one step (the goal is under 1 s). 8 s steps meant up to
// 3.5 s measured between the registry answering and the check passing.
export const firstDelayMs = 100;
export const maxDelayMs = 500;

/** What one attempt found: the value, or what it saw instead (reported if the deadline passes). */
export type Attempt<T> = { done: true; value: T } | { done: false; seen: string };

/**
 * Runs `attempt` until it is done, waiting 0.1 s, 0.2 s, 0.4 s, then 0.5 s between attempts, until the deadline:
 * the registry's pods, Service and Ingress come up in their own time after the push is "done". Errors that
 * cannot fix themselves (see isRetryable) end it at once; at the deadline the error says what was last seen.
 */
export async function retryUntilDeadline<T>(
    what: string,
    policy: RetryPolicy,
    attempt: (timeoutMs: number) => Promise<Attempt<T>>,
): Promise<T> {
    const started = Date.now();
    const deadline = started + policy.deadlineMs;
    const cap = policy.maxDelayMs ?? maxDelayMs;
    let delay = policy.firstDelayMs ?? firstDelayMs;
    let attempts = 0;
    let lastSeen: string;
    for (;;) {
        attempts++;
        const timeoutMs = Math.max(1000, Math.min(policy.requestTimeoutMs ?? 10000, deadline - Date.now()));
        try {
            const result = await attempt(timeoutMs);
            if (result.done) {
                return result.value;
            }
            lastSeen = result.seen;
        } catch (err) {
            if (!isRetryable(err)) {
                throw err;
            }
            lastSeen = (err as Error).message;
        }
        const left = deadline - Date.now();
        if (left <= 0) {
            throw new Error(
                `${what} did not pass within ${Math.round(policy.deadlineMs / 100) / 10} s (${attempts} attempts); last seen: ${lastSeen}`,
            );
        }
        await new Promise(resolve => setTimeout(resolve, Math.min(delay, left)));
        delay = Math.min(delay * 2, cap);
    }
}

export function endpointOf(t: TargetState, timeoutMs?: number, counter?: RequestCounter): RegistryEndpoint {
    return {
        hostname: t.hostname,
        address: t.address || t.hostname,
        port: t.port,
        username: t.username,
        password: t.password,
        tls: t.tls,
        timeoutMs,
        counter,
    };
}

/** Confirms the catalog lists every expected repository; with none expected, that the catalog answers. */
export async function verifyCatalog(
    s: CatalogCheckState,
    counter?: RequestCounter,
    policy?: Partial<RetryPolicy>,
): Promise<string[]> {
    const what = `catalog check of ${describeEndpoint(endpointOf(s))}`;
    return retryUntilDeadline(what, { deadlineMs: s.deadlineSeconds * 1000, ...policy }, async timeoutMs => {
        const e = endpointOf(s, timeoutMs, counter);
        if (s.repositories.length === 0) {
            await catalogPage(e, { n: 1 });
            return { done: true, value: [] };
        }
        const found = await findRepositories(e, s.repositories);
        if (found.missing.length === 0) {
            return { done: true, value: found.present };
        }
        return {
            done: false,
            seen:
                `the catalog of ${describeEndpoint(e)} does not list ${quoteList(found.missing)}` +
                (found.present.length > 0 ? ` (it lists ${quoteList(found.present)})` : ""),
        };
    });
}

/** Confirms the repository holds every expected tag; returns tag -> manifest digest. */
export async function verifyTags(
    s: TagsCheckState,
    counter?: RequestCounter,
    policy?: Partial<RetryPolicy>,
): Promise<Record<string, string>> {
    const what = `tags check of "${s.repository}" on ${describeEndpoint(endpointOf(s))}`;
    return retryUntilDeadline(what, { deadlineMs: s.deadlineSeconds * 1000, ...policy }, async timeoutMs => {
        const e = endpointOf(s, timeoutMs, counter);
        const tags = await listTags(e, s.repository);
        const missing = s.tags.filter(t => !tags.includes(t));
        if (missing.length > 0) {
            return {
                done: false,
                seen: `repository "${s.repository}" has tags ${tags.length > 0 ? quoteList(tags.slice(0, 20)) : "(none)"} but not ${quoteList(missing)}`,
            };
        }
        const digests: Record<string, string> = {};
        for (const tag of s.tags) {
            digests[tag] = await manifestDigest(e, s.repository, tag);
        }
        const stale = s.tags.filter(t => s.pushedDigests?.[t] && s.pushedDigests[t] !== digests[t]);
        if (stale.length > 0) {
            return {
                done: false,
                seen: stale
                    .map(
                        t => `"${s.repository}:${t}" is ${digests[t]}, not ${s.pushedDigests![t]} as the push reported`,
                    )
                    .join("; "),
            };
        }
        return { done: true, value: digests };
    });
}

function quoteList(names: string[]): string {
    return names.map(n => `"${n}"`).join(", ");
}

/** Errors meaning the registry is not there at all: during a destroy it may already be gone. */
const unreachableKinds = [
    "connectionRefused",
    "unknownHost",
    "unreachable",
    "timeout",
    "untrustedCertificate",
    "server",
    "protocol",
];

export interface DeletionReport {
    deleted: string[];
    /** Already gone (404). */
    alreadyGone: string[];
    /** Not deleted, with the reason. */
    skipped: { digest: string; reason: string }[];
}

/**
 * Deletes manifests by digest. `strict` (an update, right after the check passed): anything but 202 or 404
 * throws. Otherwise (a delete, maybe during a destroy) nothing throws: a digest that cannot be deleted is
 * reported as skipped, and once the registry proves unreachable the rest are skipped without waiting again.
 */
export async function deleteDigests(
    e: RegistryEndpoint,
    repository: string,
    digests: string[],
    strict: boolean,
): Promise<DeletionReport> {
    const report: DeletionReport = { deleted: [], alreadyGone: [], skipped: [] };
    let unreachable: string | undefined;
    for (const digest of [...new Set(digests)]) {
        if (unreachable) {
            report.skipped.push({ digest, reason: unreachable });
            continue;
        }
        try {
            await deleteManifest(e, repository, digest);
            report.deleted.push(digest);
        } catch (err) {
            if (err instanceof RegistryError && err.kind === "notFound") {
                report.alreadyGone.push(digest);
                continue;
            }
            if (strict) {
                throw err;
            }
            const reason = (err as Error).message;
            if (err instanceof RegistryError && unreachableKinds.includes(err.kind)) {
                unreachable = reason;
            }
            report.skipped.push({ digest, reason });
        }
    }
    return report;
}

/**
 * Removes the images this check recorded (`ours`: tag -> digest) and nothing else. Deleting a manifest by digest
 * also removes every other tag on it, and another tag may be someone else's push of the same image: when a tag
 * that is not ours resolves to the digest, only our tags are deleted where the registry can delete a tag
 * (Distribution 3.x); where it cannot (2.x), the manifest stays and the report says so. `strict` as for
 * deleteDigests; a manifest kept because it is shared is never an error.
 */
export async function removeOurImages(
    e: RegistryEndpoint,
    repository: string,
    ours: Record<string, string>,
    strict: boolean,
): Promise<DeletionReport & { tagsDeleted: string[] }> {
    const report = {
        deleted: [] as string[],
        alreadyGone: [] as string[],
        skipped: [] as { digest: string; reason: string }[],
        tagsDeleted: [] as string[],
    };
    const digests = [...new Set(Object.values(ours))];
    if (digests.length === 0) {
        return report;
    }
    // Which digests another tag points at: every tag of the repository that is not one of ours, resolved.
    const sharedWith = new Map<string, string[]>();
    try {
        const others = (await listTags(e, repository)).filter(t => !(t in ours));
        for (const tag of others) {
            try {
                const digest = await manifestDigest(e, repository, tag);
                sharedWith.set(digest, [...(sharedWith.get(digest) ?? []), tag]);
            } catch (err) {
                if (!(err instanceof RegistryError && err.kind === "notFound")) {
                    throw err;
                }
            }
        }
    } catch (err) {
        if (err instanceof RegistryError && err.kind === "notFound") {
            report.alreadyGone.push(...digests);
            return report;
        }
        if (strict) {
            throw err;
        }
        report.skipped.push(...digests.map(digest => ({ digest, reason: (err as Error).message })));
        return report;
    }
    const unshared = digests.filter(d => !sharedWith.has(d));
    const deleted = await deleteDigests(e, repository, unshared, strict);
    report.deleted.push(...deleted.deleted);
    report.alreadyGone.push(...deleted.alreadyGone);
    report.skipped.push(...deleted.skipped);
    for (const digest of digests.filter(d => sharedWith.has(d))) {
        const others = sharedWith.get(digest)!;
        for (const tag of Object.keys(ours).filter(t => ours[t] === digest)) {
            try {
                await deleteTag(e, repository, tag);
                report.tagsDeleted.push(tag);
            } catch (err) {
                report.skipped.push({
                    digest,
                    reason:
                        `the tag${others.length > 1 ? "s" : ""} ${others.map(t => `"${t}"`).join(", ")}, not pushed by this stack, ` +
                        `point${others.length > 1 ? "" : "s"} at it too, and deleting only the tag "${tag}" failed (${(err as Error).message}); ` +
                        "the manifest was left in place",
                });
            }
        }
    }
    return report;
}

/** Tag -> digest of the recorded tags no longer expected, except those whose digest a still-expected tag points at. */
export function imagesToDelete(
    previous: Record<string, string>,
    expectedTags: string[],
    current: Record<string, string>,
): Record<string, string> {
    const keep = new Set(Object.values(current));
    return Object.fromEntries(
        Object.entries(previous).filter(([tag, digest]) => !expectedTags.includes(tag) && !keep.has(digest)),
    );
}

/** JSON with sorted keys, so that two equal values compare equal whatever their key order. */
export function stableJson(value: unknown): string {
    return (
        JSON.stringify(value, (_key, v) =>
            v && typeof v === "object" && !Array.isArray(v)
                ? Object.fromEntries(
                      Object.keys(v)
                          .sort()
                          .filter(k => v[k] !== undefined)
                          .map(k => [k, v[k]]),
                  )
                : v,
        ) ?? "undefined"
    );
}

export const targetKeys = ["hostname", "address", "port", "username", "password", "tls"];
export const catalogKeys = [...targetKeys, "repositories", "deadlineSeconds"];
export const tagsKeys = [
    ...targetKeys,
    "repository",
    "tags",
    "deadlineSeconds",
    "deleteRemovedImages",
    "pushedDigests",
];

/**
 * Changes exactly when an input changed, and then the check runs again (an update): a new tag, password,
 * address or certificate is checked by the `pulumi up` that brings it. An unchanged stack shows no diff, so
 * a preview after `pulumi up` is empty, as a component's users expect; a check that ran on every `pulumi up`
 * would show a permanent pending update and could fail an unrelated change while the registry is briefly
 * away. To check again with nothing changed: `pulumi up --replace <urn of the check>`.
 */
export function diffState(
    olds: Record<string, unknown>,
    news: Record<string, unknown>,
    keys: string[],
    replaceKeys: string[] = [],
): CheckDiff {
    const diffs = keys.filter(k => stableJson(olds[k]) !== stableJson(news[k]));
    const replaces = diffs.filter(k => replaceKeys.includes(k));
    return { changes: diffs.length > 0, diffs, replaces };
}

/** The engine reads `changes` and `replaces`; `diffs` names the changed inputs for tests and logs. */
export interface CheckDiff extends pulumi.dynamic.DiffResult {
    diffs: string[];
}

/** The engine's placeholder for a value not known during a preview. */
const unknownValue = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** Input checks the engine reports before any attempt; values unknown in a preview are not judged. */
export function checkFailures(news: Record<string, unknown>): pulumi.dynamic.CheckFailure[] {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    const known = (v: unknown) => v !== undefined && v !== unknownValue;
    const fail = (property: string, reason: string) => failures.push({ property, reason });
    if (known(news.hostname) && (typeof news.hostname !== "string" || news.hostname === "")) {
        fail("hostname", "must be the registry's DNS name");
    }
    if (
        known(news.port) &&
        !(typeof news.port === "number" && Number.isInteger(news.port) && news.port >= 1 && news.port <= 65535)
    ) {
        fail("port", `${news.port} is not a TCP port (1-65535)`);
    }
    const tls = news.tls as { mode?: unknown; caCertificate?: unknown } | undefined;
    if (known(tls) && tls && typeof tls === "object" && known(tls.mode)) {
        if (typeof tls.mode !== "string" || !["insecure", "ca", "system"].includes(tls.mode)) {
            fail("tls", `mode "${tls.mode}" is not "insecure", "ca" or "system"`);
        } else if (
            tls.mode === "ca" &&
            tls.caCertificate !== unknownValue &&
            !String(tls.caCertificate ?? "").includes("BEGIN CERTIFICATE")
        ) {
            fail("tls", `mode "ca" needs caCertificate, the PEM of the CA that signed the registry's certificate`);
        }
    }
    if (known(news.deadlineSeconds) && !(typeof news.deadlineSeconds === "number" && news.deadlineSeconds >= 0)) {
        fail("deadlineSeconds", `${news.deadlineSeconds} is not a number of seconds`);
    }
    for (const key of ["repositories", "tags"]) {
        const list = news[key];
        if (Array.isArray(list)) {
            for (const item of list.filter(known)) {
                const ok = typeof item === "string" && (key === "tags" ? isTagName(item) : isRepositoryName(item));
                if (!ok) {
                    fail(key, `"${item}" is not a valid ${key === "tags" ? "tag" : "repository name"}`);
                }
            }
        }
    }
    if (known(news.repository) && !(typeof news.repository === "string" && isRepositoryName(news.repository))) {
        fail("repository", `"${news.repository}" is not a valid repository name`);
    }
    return failures;
}

/** The state to keep: the inputs as given (without the engine's __provider) plus results. */
function stateOf<T>(inputs: T, extra: Record<string, unknown> = {}): T {
    const { __provider: _ignored, ...rest } = inputs as Record<string, unknown>;
    return { ...rest, ...extra } as T;
}

export const catalogCheckProvider: pulumi.dynamic.ResourceProvider<CatalogCheckState, CatalogCheckState> = {
    async check(_olds, news) {
        return { inputs: news, failures: checkFailures(news as unknown as Record<string, unknown>) };
    },
    async diff(_id, olds, news) {
        return diffState(
            olds as unknown as Record<string, unknown>,
            news as unknown as Record<string, unknown>,
            catalogKeys,
        );
    },
    async create(inputs) {
        await verifyCatalog(inputs);
        return { id: `catalog@${inputs.hostname}:${inputs.port}`, outs: stateOf(inputs) };
    },
    async update(_id, _olds, news) {
        await verifyCatalog(news);
        return { outs: stateOf(news) };
    },
    // Nothing in the registry belongs to the catalog check: a delete only forgets it.
};

export const tagsCheckProvider: pulumi.dynamic.ResourceProvider<TagsCheckState, TagsCheckState> = {
    async check(_olds, news) {
        return { inputs: news, failures: checkFailures(news as unknown as Record<string, unknown>) };
    },
    async diff(_id, olds, news) {
        // A check of another repository is another resource: replaced, so the old one deletes its images.
        return diffState(
            olds as unknown as Record<string, unknown>,
            news as unknown as Record<string, unknown>,
            tagsKeys,
            ["repository"],
        );
    },
    async create(inputs) {
        const digests = await verifyTags(inputs);
        return {
            id: `tags@${inputs.hostname}:${inputs.port}/${inputs.repository}`,
            outs: stateOf(inputs, { digests }),
        };
    },
    async update(_id, olds, news) {
        const digests = await verifyTags(news);
        // Only on the same registry: after a move to another hostname the old digests mean nothing there.
        const sameRegistry =
            olds.hostname === news.hostname && olds.port === news.port && olds.repository === news.repository;
        if (news.deleteRemovedImages && sameRegistry) {
            const removed = imagesToDelete(olds.digests ?? {}, news.tags, digests);
            // Strict: the check just reached the registry, so a failure here is real (e.g. deletion disabled)
            // and the update fails with the old state kept, to be retried by the next `pulumi up`.
            const e = endpointOf(news);
            const report = await removeOurImages(e, news.repository, removed, true);
            for (const s of report.skipped) {
                console.warn(
                    `warning: ${news.repository}@${s.digest} was not deleted from ${describeEndpoint(e)}: ${s.reason}`,
                );
            }
        }
        return { outs: stateOf(news, { digests }) };
    },
    async delete(_id, props) {
        if (!props.deleteRemovedImages) {
            return;
        }
        // Never fails: a failed delete would stay in the stack, retried with these same stale inputs on every
        // `pulumi up` and `pulumi destroy` (the registry may be gone, the password rotated), with no way to fix it
        // short of editing the state. What could not be deleted is reported on stderr, which the engine shows.
        const e = endpointOf(props);
        const report = await removeOurImages(e, props.repository, props.digests ?? {}, false);
        for (const s of report.skipped) {
            console.warn(
                `warning: ${props.repository}@${s.digest} was not deleted from ${describeEndpoint(e)}: ${s.reason}`,
            );
        }
    },
};

/** Where and how the checks reach the registry. */
export interface CheckTargetArgs {
    /** DNS name: SNI, Host header, certificate name. */
    hostname: pulumi.Input<string>;
    /** IP to connect to. */
    address: pulumi.Input<string>;
    port: pulumi.Input<number>;
    username: pulumi.Input<string>;
    /** Made a secret here, and kept secret in the outputs. */
    password: pulumi.Input<string>;
    tls: pulumi.Input<TlsSettings>;
}

export interface CatalogCheckArgs extends CheckTargetArgs {
    repositories: pulumi.Input<pulumi.Input<string>[]>;
    /** How long the check keeps retrying while the registry and its ingress come up. */
    deadlineSeconds: pulumi.Input<number>;
}

export interface TagsCheckArgs extends CheckTargetArgs {
    repository: pulumi.Input<string>;
    tags: pulumi.Input<pulumi.Input<string>[]>;
    /** How long the check keeps retrying while the registry and its ingress come up. */
    deadlineSeconds: pulumi.Input<number>;
    /** Delete, by digest, the manifest of a tag removed from the list. */
    deleteRemovedImages: pulumi.Input<boolean>;
    /** tag -> digest the push reported (tags without one are not compared). Default: none. */
    pushedDigests?: pulumi.Input<Record<string, string>>;
}

/** The password output is a secret whatever the engine infers from the inputs. */
function withSecretPassword(opts?: pulumi.CustomResourceOptions): pulumi.CustomResourceOptions {
    return { ...opts, additionalSecretOutputs: [...new Set([...(opts?.additionalSecretOutputs ?? []), "password"])] };
}

/** Module of the type tokens: pulumi-nodejs:dynamic/registry:CatalogCheck and ...:TagsCheck. */
export const checksModule = "registry";

/** The providers, by the key the build's serialized copy files them under (providerText.ts). */
export const checkProviders = { catalog: catalogCheckProvider, tags: tagsCheckProvider };

/**
 * A check as `pulumi.dynamic.Resource` registers one (the same type token and `__provider` input), except that the
 * provider's text comes from providerText: the build's copy when there is one.
 */
abstract class RegistryCheck extends pulumi.CustomResource {
    constructor(
        provider: keyof typeof checkProviders,
        type: string,
        name: string,
        props: pulumi.Inputs,
        opts?: pulumi.CustomResourceOptions,
    ) {
        super(
            `pulumi-nodejs:dynamic/${checksModule}:${type}`,
            name,
            { ...props, __provider: providerText(provider, checkProviders[provider]) },
            withSecretPassword(opts),
        );
    }
}

/** The registry's catalog lists the expected repositories. */
export class CatalogCheck extends RegistryCheck {
    // `declare`: with ES2022 class fields a plain declaration would reset the outputs after super().
    declare public readonly repositories: pulumi.Output<string[]>;
    declare public readonly password: pulumi.Output<string>;

    constructor(name: string, args: CatalogCheckArgs, opts?: pulumi.CustomResourceOptions) {
        super("catalog", "CatalogCheck", name, { ...args, password: pulumi.secret(args.password) }, opts);
    }
}

/** A repository holds the expected tags; records each tag's manifest digest. */
export class TagsCheck extends RegistryCheck {
    declare public readonly repository: pulumi.Output<string>;
    declare public readonly tags: pulumi.Output<string[]>;
    /** tag -> manifest digest. */
    declare public readonly digests: pulumi.Output<Record<string, string>>;
    declare public readonly password: pulumi.Output<string>;

    constructor(name: string, args: TagsCheckArgs, opts?: pulumi.CustomResourceOptions) {
        super("tags", "TagsCheck", name, { ...args, password: pulumi.secret(args.password), digests: undefined }, opts);
    }
}
