import * as fs from "fs";
import * as https from "https";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { renderHtpasswd } from "../../components/htpasswd";
import { renderRegistryConfig } from "../../components/registryConfig";
import { settingsFromArgs } from "../../components/settings";
import {
    CatalogCheckState,
    TagsCheckState,
    catalogCheckProvider,
    retryUntilDeadline,
    tagsCheckProvider,
    verifyCatalog,
    verifyTags,
} from "../../components/verification/registryChecks";
import { RegistryEndpoint, RequestCounter } from "../../components/verification/registryClient";
import { LocalImage, makeOciImage } from "../support/ociImage";
import { freePort } from "../support/ports";
import { RunningRegistry, registryV3Binary, startRegistry } from "../support/registryProcess";
import { isServed } from "../support/isServed";
import { pushImage } from "../support/skopeoPush";
import { firstReason, itUnless, needsCommands, waitUntil, whyNoRegistry } from "../support/requirements";
import { SelfSignedCertificate, makeSelfSignedCertificate } from "../support/tls";

// Each test is gated on what it runs: a certificate (openssl), a real registry, skopeo to push to it.
const whyNoCertificate = needsCommands("openssl");
const whyNoRun = firstReason(whyNoCertificate, needsCommands("skopeo"), whyNoRegistry(2));
const withRegistry = itUnless(whyNoRun);
const withRegistryV3 = itUnless(firstReason(whyNoRun, whyNoRegistry(3)));
const withCertificate = itUnless(whyNoCertificate);
const hostname = "registry.test";
const user = { username: "checker", password: 'check: p@ss "word"' };

let dir: string;
let tls: SelfSignedCertificate;
let registry: RunningRegistry;
let htpasswd: string;
let imageA: LocalImage;
let imageB: LocalImage;
const stopLater: (() => Promise<void>)[] = [];

// The tests of diff and check below need no registry: a port and a CA of the right shape will do there.
function target(port = registry?.port ?? 5000): Omit<CatalogCheckState, "repositories" | "deadlineSeconds"> {
    return {
        hostname,
        address: "127.0.0.1",
        port,
        username: user.username,
        password: user.password,
        tls: { mode: "ca", caCertificate: tls?.certPem ?? "unused CA" },
    };
}

function tagsState(repository: string, tags: string[], more: Partial<TagsCheckState> = {}): TagsCheckState {
    return { ...target(), repository, tags, deadlineSeconds: 10, deleteRemovedImages: true, ...more };
}

function endpoint(port = registry?.port): RegistryEndpoint {
    return { ...target(port), timeoutMs: 5000 };
}

/** skopeo push with the credentials in an auth file, never on the command line. */
function push(source: string, reference: string, to: RunningRegistry = registry) {
    pushImage({ port: to.port, certDir: tls.certDir, ...user }, source, reference);
}

async function rejection(p: Promise<unknown>): Promise<Error> {
    try {
        await p;
    } catch (err) {
        return err as Error;
    }
    throw new Error("expected a rejection");
}

function served(repository: string, tag: string, port?: number): Promise<boolean> {
    return isServed(endpoint(port), repository, tag);
}

beforeAll(async () => {
    if (whyNoCertificate) {
        return;
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "dr-checks-"));
    tls = makeSelfSignedCertificate(path.join(dir, "tls"), hostname);
    if (whyNoRun) {
        return;
    }
    htpasswd = renderHtpasswd([user], "test-salt-key", 4);
    registry = await startRegistry({ config: renderRegistryConfig(settingsFromArgs("registry", {})), htpasswd, tls });
    imageA = makeOciImage(path.join(dir, "a"), "a", "image a\n");
    imageB = makeOciImage(path.join(dir, "b"), "b", "image b\n");
    push(imageA.source, "web:1.0");
});

afterAll(async () => {
    await Promise.all(stopLater.map(stop => stop()));
    await registry?.stop();
    if (dir) {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

describe("the checks against a real registry", () => {
    withRegistry("pass, and the tags check records the pushed manifest's digest", async () => {
        expect(await verifyCatalog({ ...target(), repositories: ["web"], deadlineSeconds: 5 })).toEqual(["web"]);
        expect(await verifyTags(tagsState("web", ["1.0"]))).toEqual({ "1.0": imageA.manifestDigest });
    });

    withRegistry(
        "with no repositories expected, the catalog check confirms the catalog answers to the login",
        async () => {
            expect(await verifyCatalog({ ...target(), repositories: [], deadlineSeconds: 5 })).toEqual([]);
            const err = await rejection(
                verifyCatalog({ ...target(), password: "wrong", repositories: [], deadlineSeconds: 1 }),
            );
            expect(err.message).toContain("last seen: registry registry.test (127.0.0.1:");
            expect(err.message).toContain('refused the password of user "checker"');
        },
    );

    withRegistry("deadline passed: the error says which tag was missing and which were there", async () => {
        const err = await rejection(verifyTags(tagsState("web", ["1.0", "9.9"], { deadlineSeconds: 1.5 })));
        expect(err.message).toMatch(
            new RegExp(
                `^tags check of "web" on registry\\.test \\(127\\.0\\.0\\.1:${registry.port}\\) did not pass within 1\\.5 s \\(\\d attempts\\); `,
            ),
        );
        expect(err.message).toContain('last seen: repository "web" has tags "1.0" but not "9.9"');
    });

    withRegistry(
        "the tags check waits for the digest the push reported: the served one passes, another times out naming both",
        async () => {
            expect(
                await verifyTags(tagsState("web", ["1.0"], { pushedDigests: { "1.0": imageA.manifestDigest } })),
            ).toEqual({ "1.0": imageA.manifestDigest });
            const err = await rejection(
                verifyTags(
                    tagsState("web", ["1.0"], { pushedDigests: { "1.0": imageB.manifestDigest }, deadlineSeconds: 1 }),
                ),
            );
            expect(err.message).toContain(
                `last seen: "web:1.0" is ${imageA.manifestDigest}, not ${imageB.manifestDigest} as the push reported`,
            );
            // A new push is a new input: the check runs again (an update), so the digests output follows the push.
            const olds = tagsState("web", ["1.0"], { pushedDigests: { "1.0": imageB.manifestDigest } });
            expect(
                (
                    await tagsCheckProvider.diff!(
                        "id",
                        olds,
                        tagsState("web", ["1.0"], { pushedDigests: { "1.0": imageA.manifestDigest } }),
                    )
                ).changes,
            ).toBe(true);
        },
    );

    withRegistry("deadline passed: the catalog check names the repository it did not find", async () => {
        const err = await rejection(verifyCatalog({ ...target(), repositories: ["web", "ghost"], deadlineSeconds: 1 }));
        expect(err.message).toContain("did not pass within 1 s");
        expect(err.message).toContain("last seen: the catalog of registry.test (127.0.0.1:");
        expect(err.message).toContain('does not list "ghost" (it lists "web")');
    });

    withCertificate(
        "an error waiting cannot fix (413 from a proxy) ends the check after its first request",
        async () => {
            const server = https.createServer(
                { cert: fs.readFileSync(tls.certFile), key: fs.readFileSync(tls.keyFile) },
                (_req, res) => {
                    res.writeHead(413);
                    res.end();
                },
            );
            await new Promise<void>(resolve => server.listen(0, "127.0.0.1", resolve));
            stopLater.push(
                () =>
                    new Promise(resolve => {
                        server.close(() => resolve());
                        server.closeAllConnections();
                    }),
            );
            const counter: RequestCounter = { requests: 0 };
            // Were it retried, the hour's deadline would outlast the test's timeout.
            const err = await rejection(
                verifyCatalog(
                    {
                        ...target((server.address() as net.AddressInfo).port),
                        repositories: ["web"],
                        deadlineSeconds: 3600,
                    },
                    counter,
                ),
            );
            expect(err.message).toContain('nginx.ingress.kubernetes.io/proxy-body-size: "0"');
            expect(err.message).not.toContain("did not pass within");
            expect(counter.requests).toBe(1);
        },
    );

    withRegistry(
        "a check that begins before the registry is up keeps trying through refused connections, and passes once it answers",
        async () => {
            const port = await freePort();
            const counter: RequestCounter = { requests: 0 };
            const check = verifyTags({ ...tagsState("web", ["1.0"]), port, deadlineSeconds: 60 }, counter);
            // Nothing listens on the port yet: wait until the check has been refused three times.
            await waitUntil("three refused attempts", () => counter.requests >= 3);
            const refused = counter.requests;
            // Same storage as the first registry: the image is there when this one comes up.
            const late = await startRegistry({
                config: renderRegistryConfig(settingsFromArgs("registry", {})),
                htpasswd,
                tls,
                port,
                dataDir: registry.dataDir,
            });
            stopLater.push(() => late.stop());
            expect(await check).toEqual({ "1.0": imageA.manifestDigest });
            expect(counter.requests).toBeGreaterThan(refused);
            // How soon after the registry answers the check passes is a figure: bench/verification.ts measures it.
        },
    );
});

describe("the tags check provider: update and delete remove images by digest", () => {
    withRegistry("an update that drops a tag deletes its manifest, but never one a kept tag shares", async () => {
        push(imageA.source, "app:1.0");
        push(imageA.source, "app:latest");
        push(imageB.source, "app:2.0");
        const created = await tagsCheckProvider.create!(tagsState("app", ["1.0", "2.0", "latest"]));
        expect(created.outs!.digests).toEqual({
            "1.0": imageA.manifestDigest,
            "2.0": imageB.manifestDigest,
            latest: imageA.manifestDigest,
        });
        expect(created.outs!.password).toBe(user.password);

        const dropped2 = await tagsCheckProvider.update!(
            created.id,
            created.outs!,
            tagsState("app", ["1.0", "latest"]),
        );
        expect(dropped2.outs!.digests).toEqual({ "1.0": imageA.manifestDigest, latest: imageA.manifestDigest });
        expect(await served("app", "2.0")).toBe(false);

        // "latest" points at the digest "1.0" keeps: deleting it would take "1.0" with it.
        const droppedLatest = await tagsCheckProvider.update!(created.id, dropped2.outs!, tagsState("app", ["1.0"]));
        expect(droppedLatest.outs!.digests).toEqual({ "1.0": imageA.manifestDigest });
        expect(await served("app", "latest")).toBe(true);
        expect(await served("app", "1.0")).toBe(true);
    });

    withRegistry(
        "never deletes what this stack did not push: a manifest another tag points at stays, with a warning",
        async () => {
            push(imageA.source, "shared:1.0");
            push(imageB.source, "shared:2.0");
            // Someone else pushes the same images under their own tags.
            push(imageA.source, "shared:theirs");
            push(imageB.source, "shared:their-2.0");
            const warn = jest.spyOn(console, "warn").mockImplementation(() => undefined);
            try {
                const created = await tagsCheckProvider.create!(tagsState("shared", ["1.0", "2.0"]));
                // Removing "2.0" from the push list: its digest is also "their-2.0", which must stay served.
                const updated = await tagsCheckProvider.update!(
                    created.id,
                    created.outs!,
                    tagsState("shared", ["1.0"]),
                );
                expect(await served("shared", "their-2.0")).toBe(true);
                // A destroy: the same for "1.0" and "theirs".
                await tagsCheckProvider.delete!(created.id, updated.outs!);
                expect(await served("shared", "theirs")).toBe(true);
                const warnings = warn.mock.calls.map(c => String(c[0]));
                expect(warnings).toHaveLength(2);
                expect(warnings[0]).toMatch(
                    new RegExp(
                        `^warning: shared@${imageB.manifestDigest} was not deleted .*"their-2.0", not pushed by this stack.*left in place`,
                    ),
                );
                expect(warnings[1]).toMatch(
                    new RegExp(
                        `^warning: shared@${imageA.manifestDigest} was not deleted .*"theirs", not pushed by this stack.*left in place`,
                    ),
                );
            } finally {
                warn.mockRestore();
            }
        },
    );

    withRegistryV3(
        "where the registry deletes tags (Distribution 3.x), only our tag goes and the shared manifest stays",
        async () => {
            const v3 = await startRegistry({
                config: renderRegistryConfig(settingsFromArgs("registry", { image: "registry:3.1.2" })),
                htpasswd,
                tls,
                binary: registryV3Binary,
                env: { OTEL_TRACES_EXPORTER: "none" },
            });
            stopLater.push(() => v3.stop());
            push(imageA.source, "v3repo:1.0", v3);
            // Someone else's tag on the same manifest.
            push(imageA.source, "v3repo:theirs", v3);
            const state = { ...tagsState("v3repo", ["1.0"]), port: v3.port };
            const created = await tagsCheckProvider.create!(state);
            expect(created.outs!.digests).toEqual({ "1.0": imageA.manifestDigest });
            await tagsCheckProvider.delete!(created.id, created.outs!);
            expect(await served("v3repo", "1.0", v3.port)).toBe(false);
            expect(await served("v3repo", "theirs", v3.port)).toBe(true);
            expect(await verifyTags({ ...state, tags: ["theirs"], deadlineSeconds: 5 })).toEqual({
                theirs: imageA.manifestDigest,
            });
        },
    );

    withRegistry("with deleteRemovedImages false, neither an update nor a delete removes anything", async () => {
        push(imageA.source, "keep:1.0");
        push(imageB.source, "keep:2.0");
        const state = tagsState("keep", ["1.0", "2.0"], { deleteRemovedImages: false });
        const created = await tagsCheckProvider.create!(state);
        const updated = await tagsCheckProvider.update!(created.id, created.outs!, { ...state, tags: ["1.0"] });
        expect(await served("keep", "2.0")).toBe(true);
        await tagsCheckProvider.delete!(created.id, updated.outs!);
        expect(await served("keep", "1.0")).toBe(true);
    });

    withRegistry("a delete removes every recorded manifest; a second delete finds them gone and succeeds", async () => {
        push(imageA.source, "gone:1.0");
        push(imageB.source, "gone:2.0");
        const created = await tagsCheckProvider.create!(tagsState("gone", ["1.0", "2.0"]));
        await tagsCheckProvider.delete!(created.id, created.outs!);
        expect(await served("gone", "1.0")).toBe(false);
        expect(await served("gone", "2.0")).toBe(false);
        await expect(tagsCheckProvider.delete!(created.id, created.outs!)).resolves.toBeUndefined();
    });

    withRegistry(
        "a delete while the registry is unreachable (a destroy after the cluster went) warns and succeeds",
        async () => {
            const closedPort = await freePort();
            const warn = jest.spyOn(console, "warn").mockImplementation(() => undefined);
            try {
                const outs = {
                    ...tagsState("web", ["1.0"]),
                    port: closedPort,
                    digests: { "1.0": imageA.manifestDigest, x: "sha256:" + "0".repeat(64) },
                };
                await expect(tagsCheckProvider.delete!("id", outs)).resolves.toBeUndefined();
                expect(warn).toHaveBeenCalledTimes(2);
                expect(String(warn.mock.calls[0][0])).toContain(`connection refused at 127.0.0.1:${closedPort}`);
            } finally {
                warn.mockRestore();
            }
        },
    );

    withRegistry("an update on a registry with deletion disabled fails with the setting to change", async () => {
        const noDelete = await startRegistry({
            config: renderRegistryConfig(settingsFromArgs("registry", {})),
            htpasswd,
            tls,
            dataDir: registry.dataDir,
            env: { REGISTRY_STORAGE_DELETE_ENABLED: "false" },
        });
        stopLater.push(() => noDelete.stop());
        push(imageA.source, "nodelete:1.0");
        push(imageB.source, "nodelete:2.0");
        const state = { ...tagsState("nodelete", ["1.0", "2.0"]), port: noDelete.port };
        const created = await tagsCheckProvider.create!(state);
        const err = await rejection(tagsCheckProvider.update!(created.id, created.outs!, { ...state, tags: ["1.0"] }));
        expect(err.message).toContain("405 Method Not Allowed");
        expect(err.message).toContain("REGISTRY_STORAGE_DELETE_ENABLED=true");
    });
});

describe("diff: an update exactly when an input changed", () => {
    const state = () => tagsState("web", ["1.0"]);
    it("unchanged inputs (and outputs in the old state) make no diff", async () => {
        expect(
            await tagsCheckProvider.diff!("id", { ...state(), digests: { "1.0": "sha256:x" } }, {
                ...state(),
                __provider: "new code",
            } as any),
        ).toEqual({ changes: false, diffs: [], replaces: [] });
    });

    it("a changed password, tag list, trust or deletion setting is an update; another repository is a replacement", async () => {
        const diff = (news: Partial<TagsCheckState>) => tagsCheckProvider.diff!("id", state(), { ...state(), ...news });
        expect(await diff({ password: "rotated" })).toMatchObject({ changes: true, diffs: ["password"], replaces: [] });
        expect(await diff({ tags: ["1.0", "2.0"] })).toMatchObject({ changes: true, diffs: ["tags"] });
        expect(await diff({ tls: { mode: "insecure" } })).toMatchObject({ changes: true, diffs: ["tls"] });
        expect(await diff({ deleteRemovedImages: false })).toMatchObject({
            changes: true,
            diffs: ["deleteRemovedImages"],
        });
        expect(await diff({ repository: "other" })).toMatchObject({ changes: true, replaces: ["repository"] });
        const catalog = { ...state(), repositories: ["web"] } as unknown as CatalogCheckState;
        expect(
            await catalogCheckProvider.diff!("id", catalog, {
                ...catalog,
                tls: { caCertificate: undefined, mode: "insecure" },
            }),
        ).toMatchObject({ changes: true, diffs: ["tls"] });
        // Key order and absent-versus-undefined keys are no change.
        expect(
            await catalogCheckProvider.diff!("id", catalog, {
                ...catalog,
                tls: { caCertificate: catalog.tls.caCertificate, mode: "ca" },
            }),
        ).toMatchObject({ changes: false });
        const insecure = { ...catalog, tls: { mode: "insecure" as const } };
        expect(
            await catalogCheckProvider.diff!("id", insecure, {
                ...insecure,
                tls: { mode: "insecure", caCertificate: undefined },
            }),
        ).toMatchObject({ changes: false });
    });

    it("retries often while the registry comes up: no wait between attempts above 0.5 s, the first at most 0.1 s", async () => {
        const waits: number[] = [];
        const spy = jest.spyOn(global, "setTimeout").mockImplementation(((fn: () => void, ms?: number) => {
            waits.push(ms ?? 0);
            fn();
            return 0;
        }) as unknown as typeof setTimeout);
        let attempts = 0;
        try {
            await retryUntilDeadline("the check", { deadlineMs: 300000 }, async () =>
                ++attempts < 30 ? { done: false, seen: "404" } : { done: true, value: 1 },
            );
        } finally {
            spy.mockRestore();
        }
        expect(waits).toHaveLength(29);
        expect(Math.max(...waits)).toBeLessThanOrEqual(500);
        expect(waits[0]).toBeLessThanOrEqual(100);
    });
});

describe("check: inputs are judged before any attempt", () => {
    it("reports bad ports, trust settings, repository names and tags; leaves unknown preview values alone", async () => {
        const result = await tagsCheckProvider.check!(
            {} as TagsCheckState,
            {
                ...{ hostname, address: "127.0.0.1", username: "u", password: "p" },
                port: 70000,
                tls: { mode: "ca" },
                repository: "Upper/Case",
                tags: ["ok", "-bad"],
                deadlineSeconds: 5,
                deleteRemovedImages: true,
            } as TagsCheckState,
        );
        expect(result.failures!.map(f => f.property).sort()).toEqual(["port", "repository", "tags", "tls"]);
        const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
        const preview = await catalogCheckProvider.check!(
            {} as CatalogCheckState,
            {
                hostname: unknown,
                address: unknown,
                port: unknown,
                username: "u",
                password: unknown,
                tls: unknown,
                repositories: ["web"],
                deadlineSeconds: 300,
            } as unknown as CatalogCheckState,
        );
        expect(preview.failures).toEqual([]);
    });
});
