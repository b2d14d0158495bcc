import * as http from "http";
import * as https from "https";
import * as net from "net";

/*
 * A small client for the Distribution registry HTTP API: catalog, tags, manifest digests and deletion.
 *
 * These functions run inside dynamic providers, which Pulumi serializes as closures and loads in another
 * process. So: plain functions and plain data only, no module-level state, no shared clients; the https
 * and net modules are re-required by name by Pulumi's closure serializer.
 */

/** How to trust the registry's certificate. */
export interface TlsSettings {
    /**
     * "insecure": do not verify (e.g. k3s Traefik's self-signed default certificate);
     * "ca": trust only `caCertificate`; "system": Node's built-in roots.
     */
    mode: "insecure" | "ca" | "system";
    /** PEM of the CA that signed the registry's certificate; required for "ca". */
    caCertificate?: string;
}

/** Counts requests sent, for the benchmark and for tests of pagination. */
export interface RequestCounter {
    requests: number;
}

/** Where and how to reach the registry. Plain data: a dynamic provider rebuilds it from its inputs. */
export interface RegistryEndpoint {
    /** DNS name of the registry: sent as SNI and Host header, and checked against the certificate. */
    hostname: string;
    /** IP (or name) to connect to, so that no hosts entry is needed. Default: the hostname. */
    address?: string;
    /** HTTPS port. */
    port: number;
    /** Basic auth user; no Authorization header when absent. */
    username?: string;
    password?: string;
    tls: TlsSettings;
    /** Per-request timeout in milliseconds, connection to last byte. Default: 10000. */
    timeoutMs?: number;
    /** Incremented once per request sent. */
    counter?: RequestCounter;
}

export type RegistryErrorKind =
    | "unauthorized" // 401
    | "forbidden" // 403
    | "notFound" // 404
    | "deleteDisabled" // 405 on DELETE
    | "payloadTooLarge" // 413
    | "badRequest" // 400, e.g. an invalid repository name
    | "server" // 5xx
    | "unexpectedStatus" // any other status
    | "untrustedCertificate"
    | "connectionRefused"
    | "unknownHost"
    | "unreachable"
    | "timeout"
    | "protocol" // not HTTPS, a missing header, a body that is not JSON
    | "invalidSettings";

/** A failed registry request; `kind` says what went wrong, the message says what to do about it. */
export class RegistryError extends Error {
    constructor(
        public readonly kind: RegistryErrorKind,
        message: string,
        public readonly status?: number,
    ) {
        super(message);
        // Pulumi's closure serializer turns this constructor into a function that calls Error.call(this, message),
        // which sets nothing on `this`: set the message here so that it survives serialization.
        this.message = message;
        this.name = "RegistryError";
    }

    /**
     * Whether waiting may fix it. Also keeps RegistryError.prototype from looking like a default prototype,
     * which the closure serializer would drop together with its link to Error.prototype.
     */
    get retryable(): boolean {
        return isRetryable(this);
    }
}

/**
 * Errors worth waiting out while the registry, its pods and its ingress come up: the ingress answers 404
 * or 503 before its backend is ready, Traefik serves its default certificate before the Ingress's own, old
 * pods answer 401 during a password rotation. The rest cannot fix themselves.
 */
export function isRetryable(error: unknown): boolean {
    if (!(error instanceof RegistryError)) {
        return false;
    }
    return !["payloadTooLarge", "badRequest", "deleteDisabled", "invalidSettings", "forbidden"].includes(error.kind);
}

/** Every manifest type a registry may hold: without them in Accept, Distribution converts or answers 404. */
export const manifestMediaTypes = [
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
];

export interface RegistryResponse {
    status: number;
    headers: Record<string, string | string[] | undefined>;
    body: string;
}

/** Longest body read; a catalog page of 1000 long names fits many times over. */
const maxBodyBytes = 8 * 1024 * 1024;

/** `host:port` as the registry is addressed, for messages. */
export function describeEndpoint(e: RegistryEndpoint): string {
    const address = e.address || e.hostname;
    return address === e.hostname ? `${e.hostname}:${e.port}` : `${e.hostname} (${address}:${e.port})`;
}

/** Sends one request and reads the whole answer. Throws RegistryError on network and TLS failures only. */
export function send(e: RegistryEndpoint, method: string, path: string, accept?: string): Promise<RegistryResponse> {
    if (e.tls.mode === "ca" && !e.tls.caCertificate) {
        return Promise.reject(
            new RegistryError(
                "invalidSettings",
                `tls mode "ca" needs caCertificate, the PEM of the CA that signed the certificate of ${e.hostname}`,
            ),
        );
    }
    if (e.counter) {
        e.counter.requests++;
    }
    const address = e.address || e.hostname;
    const timeoutMs = e.timeoutMs ?? 10000;
    const headers: Record<string, string> = {
        // The address may be an IP; the ingress routes on Host and picks its certificate on SNI.
        Host: e.port === 443 ? e.hostname : `${e.hostname}:${e.port}`,
        "User-Agent": "distribution-registry-verification",
    };
    if (accept) {
        headers.Accept = accept;
    }
    if (e.username) {
        headers.Authorization = `Basic ${Buffer.from(`${e.username}:${e.password ?? ""}`).toString("base64")}`;
    }
    return new Promise((resolve, reject) => {
        // Declared before the callbacks that use them: Pulumi's closure serializer reads a use that comes
        // before its declaration as a captured variable and refuses to serialize the function.
        let settled = false;
        let timer: ReturnType<typeof setTimeout> | undefined = undefined;
        let req: http.ClientRequest | undefined = undefined;
        const finish = (error: RegistryError | undefined, response?: RegistryResponse) => {
            if (settled) {
                return;
            }
            settled = true;
            clearTimeout(timer);
            if (error) {
                req?.destroy();
                reject(error);
            } else {
                resolve(response!);
            }
        };
        req = https.request(
            {
                host: address,
                port: e.port,
                method,
                path,
                headers,
                // A fresh connection each time: nothing outlives the call, and a provider process holds no sockets.
                agent: false,
                // Node refuses an IP as SNI; for an IP hostname it checks the certificate against the address.
                servername: net.isIP(e.hostname) ? undefined : e.hostname,
                rejectUnauthorized: e.tls.mode !== "insecure",
                ca: e.tls.mode === "ca" ? e.tls.caCertificate : undefined,
            },
            res => {
                const chunks: Buffer[] = [];
                let size = 0;
                res.on("data", (chunk: Buffer) => {
                    size += chunk.length;
                    if (size > maxBodyBytes) {
                        finish(
                            new RegistryError(
                                "protocol",
                                `${describeEndpoint(e)} sent more than ${maxBodyBytes} bytes for ${method} ${path}`,
                            ),
                        );
                    } else {
                        chunks.push(chunk);
                    }
                });
                res.on("end", () =>
                    finish(undefined, {
                        status: res.statusCode ?? 0,
                        headers: res.headers,
                        body: Buffer.concat(chunks).toString("utf8"),
                    }),
                );
                res.on("error", err => finish(networkError(e, err)));
            },
        );
        // One timer for the whole exchange: a socket timeout would restart on every byte of a slow answer.
        timer = setTimeout(
            () =>
                finish(
                    new RegistryError(
                        "timeout",
                        `no answer from registry ${describeEndpoint(e)} within ${timeoutMs / 1000} s (${method} ${path}); is ${address}:${e.port} the registry's ingress, and is the registry running?`,
                    ),
                ),
            timeoutMs,
        );
        req.on("error", err => finish(networkError(e, err)));
        req.end();
    });
}

const untrustedCertificateCodes = [
    "DEPTH_ZERO_SELF_SIGNED_CERT",
    "SELF_SIGNED_CERT_IN_CHAIN",
    "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
    "UNABLE_TO_GET_ISSUER_CERT",
    "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
    "CERT_UNTRUSTED",
    "CERT_HAS_EXPIRED",
    "CERT_NOT_YET_VALID",
    "ERR_TLS_CERT_ALTNAME_INVALID",
    "CERT_SIGNATURE_FAILURE",
    "INVALID_CA",
];

/** Turns a socket or TLS failure into an error that names where it tried to connect and what to change. */
export function networkError(e: RegistryEndpoint, err: Error & { code?: string }): RegistryError {
    const address = e.address || e.hostname;
    const where = `${address}:${e.port}`;
    const code = err.code ?? "";
    if (code === "ECONNREFUSED") {
        return new RegistryError(
            "connectionRefused",
            `connection refused at ${where} (registry ${e.hostname}): nothing listens there yet; check the address and port, and that the ingress and the registry are running`,
        );
    }
    if (code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "EAI_NONAME") {
        return new RegistryError(
            "unknownHost",
            `unknown host: cannot resolve "${address}" to connect to ${where} (registry ${e.hostname}); give the address as an IP, or make the name resolve`,
        );
    }
    if (untrustedCertificateCodes.includes(code)) {
        return new RegistryError(
            "untrustedCertificate",
            `the TLS certificate served at ${where} for ${e.hostname} is not trusted (${code}: ${err.message}) with tls mode "${e.tls.mode}". ` +
                `The trust options: tls "generated" (the default) serves a certificate whose CA Docker, skopeo and the checks trust; ` +
                `with tls "secret", set dockerTrust "ca" and dockerCaFile to the CA that signed the Secret's certificate; ` +
                `tls "ingressDefault" (the controller's self-signed certificate, as in the seed) needs dockerTrust "insecure", which skips verification. ` +
                `If the Ingress serves another certificate than the one expected, check that its controller found the Secret`,
        );
    }
    if (code === "EPROTO" || code.startsWith("ERR_SSL")) {
        return new RegistryError(
            "protocol",
            `TLS handshake with ${where} (registry ${e.hostname}) failed: ${err.message}; is it serving HTTPS on that port?`,
        );
    }
    return new RegistryError(
        "unreachable",
        `cannot reach registry ${e.hostname} at ${where}: ${code ? `${code}: ` : ""}${err.message}`,
    );
}

/** The registry's own error codes from an error body, e.g. "NAME_UNKNOWN: repository name not known to registry". */
function registryErrorDetail(body: string): string {
    try {
        const parsed = JSON.parse(body) as { errors?: { code?: string; message?: string }[] };
        const errors = (parsed.errors ?? []).map(x => [x.code, x.message].filter(Boolean).join(": "));
        return errors.length > 0 ? ` [${errors.join("; ")}]` : "";
    } catch {
        const text = body.trim().slice(0, 200);
        return text ? ` [${text}]` : "";
    }
}

/**
 * The error for an unsuccessful answer. `subject` names what was asked for (`repository "web"`,
 * `tag "web:1.0"`, `the catalog`) so that a 404 says what is missing.
 */
export function statusError(
    e: RegistryEndpoint,
    method: string,
    res: RegistryResponse,
    subject: string,
): RegistryError {
    const s = res.status;
    const registry = `registry ${describeEndpoint(e)}`;
    const detail = registryErrorDetail(res.body);
    if (s === 401) {
        return new RegistryError(
            "unauthorized",
            e.username
                ? `${registry} refused the password of user "${e.username}" (401 Unauthorized) when reading ${subject}; check the username and password, and that the htpasswd Secret holds them`
                : `${registry} requires a login (401 Unauthorized) and no username was given`,
            s,
        );
    }
    if (s === 403) {
        return new RegistryError(
            "forbidden",
            `${registry} denied user "${e.username ?? ""}" access to ${subject} (403 Forbidden)${detail}`,
            s,
        );
    }
    if (s === 404) {
        return new RegistryError("notFound", `${subject} not found on ${registry} (404 Not Found)${detail}`, s);
    }
    if (s === 405 && method === "DELETE") {
        return new RegistryError(
            "deleteDisabled",
            `${registry} does not allow deleting ${subject} (405 Method Not Allowed): enable deletion with storage.delete.enabled: true (REGISTRY_STORAGE_DELETE_ENABLED=true)`,
            s,
        );
    }
    if (s === 413) {
        return new RegistryError(
            "payloadTooLarge",
            `${registry} answered 413 Request Entity Too Large for ${subject}: a proxy in front of the registry limits request bodies. ` +
                `For ingress-nginx, set the Ingress annotation nginx.ingress.kubernetes.io/proxy-body-size: "0"`,
            s,
        );
    }
    if (s === 400) {
        return new RegistryError(
            "badRequest",
            `${registry} rejected the request for ${subject} (400 Bad Request)${detail}`,
            s,
        );
    }
    if (s >= 500) {
        return new RegistryError(
            "server",
            `${registry} answered ${s} for ${subject}: the registry, or the ingress in front of it, is failing or not ready yet${detail}`,
            s,
        );
    }
    return new RegistryError(
        "unexpectedStatus",
        `${registry} answered an unexpected ${s} for ${method} of ${subject}${detail}`,
        s,
    );
}

/** The path and query of a `Link: <...>; rel="next"` header, relative or absolute; undefined on the last page. */
export function nextLink(header: string | string[] | undefined): string | undefined {
    const values = Array.isArray(header) ? header : header ? [header] : [];
    for (const value of values) {
        for (const part of value.split(",")) {
            const m = /<([^>]+)>\s*;\s*rel="?next"?/i.exec(part);
            if (m) {
                // The next request goes to the same endpoint whatever host the link names.
                const url = new URL(m[1], "https://registry.invalid");
                return url.pathname + url.search;
            }
        }
    }
    return undefined;
}

function parseJson<T>(e: RegistryEndpoint, res: RegistryResponse, what: string): T {
    try {
        return JSON.parse(res.body) as T;
    } catch {
        throw new RegistryError(
            "protocol",
            `${describeEndpoint(e)} answered ${what} with a body that is not JSON: ${res.body.slice(0, 200)}`,
        );
    }
}

export interface CatalogPage {
    repositories: string[];
    /** Path of the next page, from the Link header. */
    next?: string;
}

/** One `_catalog` page: from `last` (exclusive), at most `n` names, or the page a Link header pointed to. */
export async function catalogPage(
    e: RegistryEndpoint,
    from: { n?: number; last?: string } | { path: string },
): Promise<CatalogPage> {
    let path: string;
    if ("path" in from) {
        path = from.path;
    } else {
        const query = new URLSearchParams();
        if (from.n !== undefined) {
            query.set("n", String(from.n));
        }
        if (from.last) {
            query.set("last", from.last);
        }
        const q = query.toString();
        path = `/v2/_catalog${q ? `?${q}` : ""}`;
    }
    const res = await send(e, "GET", path, "application/json");
    if (res.status !== 200) {
        throw statusError(e, "GET", res, "the catalog");
    }
    const body = parseJson<{ repositories?: string[] | null }>(e, res, "the catalog");
    return { repositories: body.repositories ?? [], next: nextLink(res.headers.link) };
}

/** Distribution's default page size; registry 2.8.2+ and 3.x refuse n above catalog.maxentries (1000). */
export const defaultPageSize = 100;

/** Every repository, walking all the catalog's pages. */
export async function listCatalog(e: RegistryEndpoint, pageSize = defaultPageSize): Promise<string[]> {
    const all: string[] = [];
    let page = await catalogPage(e, { n: pageSize });
    for (;;) {
        all.push(...page.repositories);
        if (!page.next || page.repositories.length === 0) {
            return all;
        }
        page = await catalogPage(e, { path: page.next });
    }
}

/**
 * Distribution's catalog order: byte order with "/" sorting before every other character, because it
 * walks the storage tree directory by directory ("a/b" comes before "a-b").
 */
export function compareRepositoryNames(a: string, b: string): number {
    const x = a.split("/").join("\u0000");
    const y = b.split("/").join("\u0000");
    return x < y ? -1 : x > y ? 1 : 0;
}

export interface CatalogSearch {
    present: string[];
    missing: string[];
}

/**
 * Which of `names` the catalog lists. Rather than walking the catalog from the start (a catalog of 5,000
 * takes 50 pages), each name is looked up from `last=<the name without its last character>`: the page
 * starting there holds the name if it exists, so one request usually settles it. Pages are followed while
 * they hold only names that sort before it, in case many names share that prefix.
 */
export async function findRepositories(
    e: RegistryEndpoint,
    names: string[],
    pageSize = defaultPageSize,
): Promise<CatalogSearch> {
    const present: string[] = [];
    const missing: string[] = [];
    const seen = new Set<string>();
    const wanted = [...new Set(names)].sort(compareRepositoryNames);
    for (const name of wanted) {
        if (seen.has(name)) {
            present.push(name);
            continue;
        }
        let page = await catalogPage(e, { n: pageSize, last: name.slice(0, -1) });
        let found = false;
        for (;;) {
            page.repositories.forEach(r => seen.add(r));
            if (seen.has(name)) {
                found = true;
                break;
            }
            const passed = page.repositories.some(r => compareRepositoryNames(r, name) > 0);
            if (passed || !page.next || page.repositories.length === 0) {
                break;
            }
            page = await catalogPage(e, { path: page.next });
        }
        (found ? present : missing).push(name);
    }
    return { present, missing };
}

/** The tags of a repository, following pagination when the registry paginates. */
export async function listTags(e: RegistryEndpoint, repository: string): Promise<string[]> {
    const tags: string[] = [];
    let path: string | undefined = `/v2/${repository}/tags/list`;
    while (path) {
        const res = await send(e, "GET", path, "application/json");
        if (res.status !== 200) {
            throw statusError(e, "GET", res, `repository "${repository}"`);
        }
        const body = parseJson<{ tags?: string[] | null }>(e, res, `the tags of "${repository}"`);
        const page = body.tags ?? [];
        tags.push(...page);
        path = page.length > 0 ? nextLink(res.headers.link) : undefined;
    }
    return tags;
}

/** The digest of a manifest (by tag or digest), from `Docker-Content-Digest` on a HEAD. */
export async function manifestDigest(e: RegistryEndpoint, repository: string, reference: string): Promise<string> {
    const subject = reference.includes(":")
        ? `manifest "${repository}@${reference}"`
        : `tag "${repository}:${reference}"`;
    const res = await send(e, "HEAD", `/v2/${repository}/manifests/${reference}`, manifestMediaTypes.join(", "));
    if (res.status !== 200) {
        throw statusError(e, "HEAD", res, subject);
    }
    const digest = res.headers["docker-content-digest"];
    if (typeof digest !== "string" || !digest.includes(":")) {
        throw new RegistryError("protocol", `${describeEndpoint(e)} sent no Docker-Content-Digest for ${subject}`);
    }
    return digest;
}

/**
 * Deletes a manifest by digest: the registry also removes every tag pointing at it. Needs
 * storage.delete.enabled; the blobs stay until `registry garbage-collect`.
 */
export async function deleteManifest(e: RegistryEndpoint, repository: string, digest: string): Promise<void> {
    const res = await send(e, "DELETE", `/v2/${repository}/manifests/${digest}`);
    if (res.status !== 202 && res.status !== 200) {
        throw statusError(e, "DELETE", res, `manifest "${repository}@${digest}"`);
    }
}

/**
 * Deletes one tag, leaving the manifest and its other tags. Distribution 3.x supports it; 2.x answers with an
 * error (the operation is unsupported), reported as a RegistryError like any other status.
 */
export async function deleteTag(e: RegistryEndpoint, repository: string, tag: string): Promise<void> {
    const res = await send(e, "DELETE", `/v2/${repository}/manifests/${tag}`);
    if (res.status !== 202 && res.status !== 200) {
        throw statusError(e, "DELETE", res, `tag "${repository}:${tag}"`);
    }
}
