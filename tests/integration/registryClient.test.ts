import * as crypto from "crypto";
import * as fs from "fs";
import * as https from "https";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { renderHtpasswd } from "../../components/htpasswd";
import { renderRegistryConfig } from "../../components/registryConfig";
import { settingsFromArgs } from "../../components/settings";
import {
    RegistryEndpoint,
    RegistryError,
    compareRepositoryNames,
    deleteManifest,
    findRepositories,
    listCatalog,
    listTags,
    manifestDigest,
    nextLink,
} from "../../components/verification/registryClient";
import { makeOciImage } from "../support/ociImage";
import { freePort } from "../support/ports";
import { RunningRegistry, startRegistry } from "../support/registryProcess";
import { pushImage } from "../support/skopeoPush";
import { firstReason, itUnless, needsCommands, whyNoRegistry } from "../support/requirements";
import { SelfSignedCertificate, makeSelfSignedCertificate } from "../support/tls";

// Each test is gated on what it runs: a certificate (openssl), and for most a real registry and skopeo to push to it;
// the proxy errors, refused connections, unknown hosts and silent servers need no registry.
const whyNoCertificate = needsCommands("openssl");
const whyNoRun = firstReason(whyNoCertificate, needsCommands("skopeo"), whyNoRegistry(2));
const withRegistry = itUnless(whyNoRun);
const withCertificate = itUnless(whyNoCertificate);
const hostname = "registry.test";
// A password with the characters that break naive quoting.
const user = { username: "alice", password: "p@ss: w\"ord'$(x)" };

let dir: string;
let tls: SelfSignedCertificate;
let registry: RunningRegistry;
let pushedDigest: string;
let otherDigest: string;
const servers: net.Server[] = [];
const sockets = new Map<net.Server, Set<net.Socket>>();

function endpoint(overrides: Partial<RegistryEndpoint> = {}): RegistryEndpoint {
    return {
        hostname,
        address: "127.0.0.1",
        // Tests without a registry give their own port.
        port: registry?.port ?? 1,
        username: user.username,
        password: user.password,
        tls: { mode: "ca", caCertificate: tls.certPem },
        timeoutMs: 5000,
        ...overrides,
    };
}

/** skopeo push with the credentials in an auth file, never on the command line. */
function push(source: string, reference: string) {
    pushImage({ port: registry.port, certDir: tls.certDir, ...user }, source, reference);
}

/** A raw request for setting up content; the client under test only reads and deletes. */
function raw(
    method: string,
    requestPath: string,
    body?: Buffer,
    contentType?: string,
): Promise<{ status: number; headers: Record<string, any> }> {
    return new Promise((resolve, reject) => {
        const req = https.request(
            {
                host: "127.0.0.1",
                port: registry.port,
                method,
                path: requestPath,
                ca: tls.certPem,
                servername: hostname,
                auth: `${user.username}:${user.password}`,
                headers: body
                    ? {
                          "Content-Length": String(body.length),
                          "Content-Type": contentType ?? "application/octet-stream",
                      }
                    : {},
            },
            res => {
                res.resume();
                res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
            },
        );
        req.on("error", reject);
        req.end(body);
    });
}

/** A setup step's answer: anything else is a broken fixture, not the test's failure. */
function expectStatus(what: string, actual: number, wanted: number) {
    if (actual !== wanted) {
        throw new Error(`setup: ${what} answered ${actual}, not ${wanted}`);
    }
}

/**
 * Many repositories at HTTP API speed (skopeo takes ~0.3 s an image): one config blob uploaded once, then
 * per repository a cross-repository mount of it and a manifest with no layers.
 */
async function createRepositories(names: string[]) {
    const config = Buffer.from(
        JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } }),
    );
    const digest = `sha256:${crypto.createHash("sha256").update(config).digest("hex")}`;
    const manifest = Buffer.from(
        JSON.stringify({
            schemaVersion: 2,
            mediaType: "application/vnd.oci.image.manifest.v1+json",
            config: { mediaType: "application/vnd.oci.image.config.v1+json", digest, size: config.length },
            layers: [],
        }),
    );
    const [first, ...rest] = names;
    const started = await raw("POST", `/v2/${first}/blobs/uploads/`);
    const location = new URL(started.headers.location, "https://x");
    location.searchParams.set("digest", digest);
    expectStatus("the config blob upload", (await raw("PUT", location.pathname + location.search, config)).status, 201);
    const putManifest = async (name: string) =>
        expectStatus(
            `the manifest of ${name}`,
            (await raw("PUT", `/v2/${name}/manifests/latest`, manifest, "application/vnd.oci.image.manifest.v1+json"))
                .status,
            201,
        );
    await putManifest(first);
    for (let i = 0; i < rest.length; i += 8) {
        await Promise.all(
            rest.slice(i, i + 8).map(async name => {
                expectStatus(
                    `the blob mount into ${name}`,
                    (await raw("POST", `/v2/${name}/blobs/uploads/?mount=${digest}&from=${first}`)).status,
                    201,
                );
                await putManifest(name);
            }),
        );
    }
}

/** An HTTPS server on 127.0.0.1 answering every request with `status`, like a proxy in front of the registry. */
async function answeringServer(status: number, body = ""): Promise<number> {
    const server = https.createServer(
        { cert: fs.readFileSync(tls.certFile), key: fs.readFileSync(tls.keyFile) },
        (_req, res) => {
            res.writeHead(status, { "Content-Type": "text/html" });
            res.end(body);
        },
    );
    track(server);
    await new Promise<void>(resolve => server.listen(0, "127.0.0.1", resolve));
    return (server.address() as net.AddressInfo).port;
}

/** Closes a test server, ending the connections it still holds (the silent one holds them forever). */
function closeServer(server: net.Server): Promise<void> {
    return new Promise(resolve => {
        server.close(() => resolve());
        for (const socket of sockets.get(server) ?? []) {
            socket.destroy();
        }
    });
}

function track(server: net.Server) {
    const open = new Set<net.Socket>();
    sockets.set(server, open);
    server.on("connection", (socket: net.Socket) => {
        open.add(socket);
        socket.on("close", () => open.delete(socket));
    });
    servers.push(server);
}

async function errorOf(p: Promise<unknown>): Promise<RegistryError> {
    try {
        await p;
    } catch (err) {
        expect(err).toBeInstanceOf(RegistryError);
        return err as RegistryError;
    }
    throw new Error("expected a RegistryError");
}

beforeAll(async () => {
    if (whyNoCertificate) {
        return;
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "dr-client-"));
    tls = makeSelfSignedCertificate(path.join(dir, "tls"), hostname);
    if (whyNoRun) {
        return;
    }
    registry = await startRegistry({
        // The product's own config: storage delete is on, as deployed.
        config: renderRegistryConfig(settingsFromArgs("registry", {})),
        htpasswd: renderHtpasswd([user], "test-salt-key", 4),
        tls,
    });
    const image = makeOciImage(path.join(dir, "image"), "1.0");
    const other = makeOciImage(path.join(dir, "other"), "2.0", "another layer\n");
    push(image.source, "web:1.0");
    push(other.source, "web:2.0");
    pushedDigest = image.manifestDigest;
    otherDigest = other.manifestDigest;
});

afterAll(async () => {
    await Promise.all(servers.map(closeServer));
    await registry?.stop();
    if (dir) {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

describe("registry client against a real registry (TLS, htpasswd)", () => {
    withRegistry(
        "reads catalog, tags and the pushed manifest's digest through an IP with the hostname as SNI and Host",
        async () => {
            const counter = { requests: 0 };
            const e = endpoint({ counter });
            expect(await listCatalog(e)).toEqual(["web"]);
            expect((await listTags(e, "web")).sort()).toEqual(["1.0", "2.0"]);
            expect(await manifestDigest(e, "web", "1.0")).toBe(pushedDigest);
            expect(await manifestDigest(e, "web", "2.0")).toBe(otherDigest);
            expect(await findRepositories(e, ["web", "absent"])).toEqual({ present: ["web"], missing: ["absent"] });
            expect(counter.requests).toBe(5);
        },
    );

    withRegistry("tls mode insecure accepts the self-signed certificate", async () => {
        expect(await manifestDigest(endpoint({ tls: { mode: "insecure" } }), "web", "1.0")).toBe(pushedDigest);
    });

    withRegistry("401: names the user and says the password was refused", async () => {
        const err = await errorOf(listCatalog(endpoint({ password: "wrong" })));
        expect(err.kind).toBe("unauthorized");
        expect(err.status).toBe(401);
        expect(err.message).toContain('refused the password of user "alice"');
        expect(err.message).not.toContain("wrong");
    });

    withRegistry("404: names the missing repository, and the missing tag", async () => {
        const repo = await errorOf(listTags(endpoint(), "nothing/here"));
        expect(repo.kind).toBe("notFound");
        expect(repo.message).toContain('repository "nothing/here" not found');
        expect(repo.message).toContain("NAME_UNKNOWN");
        const tag = await errorOf(manifestDigest(endpoint(), "web", "9.9"));
        expect(tag.kind).toBe("notFound");
        expect(tag.message).toContain('tag "web:9.9" not found');
    });

    withCertificate("413 from a proxy: names the ingress-nginx body-size annotation", async () => {
        const port = await answeringServer(413, "<html>413 Request Entity Too Large</html>");
        const err = await errorOf(listCatalog(endpoint({ port })));
        expect(err.kind).toBe("payloadTooLarge");
        expect(err.message).toContain('nginx.ingress.kubernetes.io/proxy-body-size: "0"');
    });

    withCertificate("5xx from a proxy: says the registry or its ingress is failing or not ready", async () => {
        const port = await answeringServer(503, "no endpoints");
        const err = await errorOf(manifestDigest(endpoint({ port }), "web", "1.0"));
        expect(err.kind).toBe("server");
        expect(err.status).toBe(503);
        expect(err.message).toContain(`registry.test (127.0.0.1:${port}) answered 503 for tag "web:1.0"`);
    });

    withRegistry("untrusted certificate (mode system, self-signed): names the trust options", async () => {
        const err = await errorOf(listCatalog(endpoint({ tls: { mode: "system" } })));
        expect(err.kind).toBe("untrustedCertificate");
        expect(err.message).toContain('tls "generated" (the default)');
        expect(err.message).toContain('dockerTrust "ca" and dockerCaFile');
        expect(err.message).toContain('dockerTrust "insecure"');
    });

    withRegistry("a certificate for another name is untrusted even with its CA", async () => {
        const err = await errorOf(listCatalog(endpoint({ hostname: "other.test" })));
        expect(err.kind).toBe("untrustedCertificate");
        expect(err.message).toContain("ERR_TLS_CERT_ALTNAME_INVALID");
    });

    withCertificate("connection refused: names address and port", async () => {
        const port = await freePort();
        const err = await errorOf(listCatalog(endpoint({ port })));
        expect(err.kind).toBe("connectionRefused");
        expect(err.message).toContain(`connection refused at 127.0.0.1:${port}`);
    });

    withCertificate("unknown host when the address is a name that does not resolve", async () => {
        const err = await errorOf(listCatalog(endpoint({ address: "no-such-host.invalid", port: 443 })));
        expect(err.kind).toBe("unknownHost");
        expect(err.message).toContain('cannot resolve "no-such-host.invalid" to connect to no-such-host.invalid:443');
    });

    withCertificate("timeout: a server that accepts and never answers", async () => {
        const server = net.createServer(() => {
            /* hold the connection, say nothing */
        });
        track(server);
        await new Promise<void>(resolve => server.listen(0, "127.0.0.1", resolve));
        const port = (server.address() as net.AddressInfo).port;
        // Without the timeout the request would wait for the test's own (60 s) and fail it.
        const err = await errorOf(listCatalog(endpoint({ port, timeoutMs: 300 })));
        expect(err.kind).toBe("timeout");
        expect(err.message).toContain(`no answer from registry registry.test (127.0.0.1:${port}) within 0.3 s`);
    });

    withRegistry(
        "a catalog of more than 100 repositories: walked page by page, and one on the last page found in one request",
        async () => {
            const names = Array.from({ length: 130 }, (_, i) => `bulk/repo-${String(i).padStart(3, "0")}`);
            await createRepositories(names);
            const walk = { requests: 0 };
            const all = await listCatalog(endpoint({ counter: walk }));
            expect(all).toHaveLength(131);
            expect(all).toEqual([...all].sort(compareRepositoryNames));
            // 131 names at 100 a page: two pages, the second reached through the Link header.
            expect(walk.requests).toBe(2);
            const last = "bulk/repo-129";
            expect(all.indexOf(last)).toBeGreaterThanOrEqual(100);
            const seek = { requests: 0 };
            expect(await findRepositories(endpoint({ counter: seek }), [last])).toEqual({
                present: [last],
                missing: [],
            });
            expect(seek.requests).toBe(1);
            // With pages of 7, the page from "bulk/repo-12" ends at repo-126: the Link header leads on to repo-129.
            const small = { requests: 0 };
            expect(await findRepositories(endpoint({ counter: small }), [last], 7)).toEqual({
                present: [last],
                missing: [],
            });
            expect(small.requests).toBe(2);
            expect(await findRepositories(endpoint(), ["bulk/repo-130", "web"], 7)).toEqual({
                present: ["web"],
                missing: ["bulk/repo-130"],
            });
        },
    );

    withRegistry("delete by digest removes the manifest: HEAD answers 404 afterwards", async () => {
        const e = endpoint();
        const image = makeOciImage(path.join(dir, "doomed"), "gone", "to be deleted\n");
        push(image.source, "doomed:gone");
        const digest = await manifestDigest(e, "doomed", "gone");
        expect(digest).toBe(image.manifestDigest);
        await deleteManifest(e, "doomed", digest);
        expect((await errorOf(manifestDigest(e, "doomed", "gone"))).kind).toBe("notFound");
        const again = await errorOf(deleteManifest(e, "doomed", digest));
        expect(again.kind).toBe("notFound");
        expect(again.message).toContain(`manifest "doomed@${digest}" not found`);
    });
});

describe("registry client helpers", () => {
    it("follows relative and absolute Link headers, and stops without one", () => {
        expect(nextLink('</v2/_catalog?last=b&n=2>; rel="next"')).toBe("/v2/_catalog?last=b&n=2");
        expect(nextLink('<https://elsewhere.example/v2/x/tags/list?last=t&n=5>; rel="next"')).toBe(
            "/v2/x/tags/list?last=t&n=5",
        );
        expect(nextLink(undefined)).toBeUndefined();
        expect(nextLink('</v2/_catalog?last=a>; rel="prev"')).toBeUndefined();
    });

    it("orders names as Distribution walks its storage: '/' before every other character", () => {
        expect(["a-b", "a/b", "a", "a.b", "a0"].sort(compareRepositoryNames)).toEqual(["a", "a/b", "a-b", "a.b", "a0"]);
    });
});
