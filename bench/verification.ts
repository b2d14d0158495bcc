import * as fs from "fs";
import * as https from "https";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { renderHtpasswd } from "../components/htpasswd";
import { renderRegistryConfig } from "../components/registryConfig";
import { settingsFromArgs } from "../components/settings";
import { TagsCheckState, firstDelayMs, maxDelayMs, verifyTags } from "../components/verification/registryChecks";
import {
    RegistryEndpoint,
    catalogPage,
    compareRepositoryNames,
    defaultPageSize,
    findRepositories,
} from "../components/verification/registryClient";
import { makeOciImage } from "../tests/support/ociImage";
import { freePort } from "../tests/support/ports";
import { pushImage } from "../tests/support/skopeoPush";
import { startRegistry } from "../tests/support/registryProcess";
import { hasCommand } from "../tests/support/requirements";
import { makeSelfSignedCertificate } from "../tests/support/tls";

/**
 * Two figures of the verification:
 * 1. how long after the registry starts answering the check passes, when the check started first (as it
 *    does in `pulumi up`, right after the push, while pods and ingress come up): real registry, real check;
 * 2. how many HTTP requests confirm one repository in a catalog of 5,000, walking the pages from the start
 *    versus looking it up from `last=`: against a local server that pages `_catalog` as Distribution does.
 */
const hostname = "registry.test";
const user = { username: "bench", password: "bench-password" };
const startDelaysMs = (process.env.BENCH_START_DELAYS ?? "1000,1500,2000").split(",").map(Number);
const catalogSize = 5000;

export interface VerificationFigures {
    /** Per run: delay before the registry started, and ms from its first answer to the check passing. */
    readyToPassed: { startDelayMs: number; readyToPassedMs: number; checkTotalMs: number }[];
    /** Requests to confirm one repository, per strategy and position in the catalog. */
    catalogRequests: { strategy: string; repository: string; requests: number; ms: number }[];
}

/** When GET / on the port first answers 200, polled every 10 ms: the moment the registry is ready. */
async function firstAnswer(port: number): Promise<number> {
    for (;;) {
        const ok = await new Promise<boolean>(resolve => {
            const req = https.get(
                { host: "127.0.0.1", port, path: "/", rejectUnauthorized: false, agent: false, timeout: 1000 },
                res => {
                    res.resume();
                    resolve(res.statusCode === 200);
                },
            );
            req.on("error", () => resolve(false));
            req.on("timeout", () => {
                req.destroy();
                resolve(false);
            });
        });
        if (ok) {
            return Date.now();
        }
        await new Promise(r => setTimeout(r, 10));
    }
}

async function readyToPassed(dir: string): Promise<VerificationFigures["readyToPassed"]> {
    const tls = makeSelfSignedCertificate(path.join(dir, "tls"), hostname);
    const htpasswd = renderHtpasswd([user], "bench-key", 5);
    const config = renderRegistryConfig(settingsFromArgs("bench", {}));
    const dataDir = path.join(dir, "data");
    // Push once into a data directory that every later registry serves.
    const seed = await startRegistry({ config, htpasswd, tls, dataDir });
    const image = makeOciImage(path.join(dir, "image"), "1.0");
    try {
        pushImage({ port: seed.port, certDir: tls.certDir, ...user }, image.source, "web:1.0");
    } finally {
        await seed.stop();
        fs.rmSync(seed.dir, { recursive: true, force: true });
    }
    const runs: VerificationFigures["readyToPassed"] = [];
    for (const startDelayMs of startDelaysMs) {
        const port = await freePort();
        const state: TagsCheckState = {
            hostname,
            address: "127.0.0.1",
            port,
            username: user.username,
            password: user.password,
            tls: { mode: "ca", caCertificate: tls.certPem },
            repository: "web",
            tags: ["1.0"],
            deadlineSeconds: 60,
            deleteRemovedImages: false,
        };
        const started = Date.now();
        const check = verifyTags(state).then(() => Date.now());
        await new Promise(r => setTimeout(r, startDelayMs));
        // startRegistry polls every 100 ms, late enough for the check to get in first: watch more closely.
        const ready = firstAnswer(port);
        const registry = await startRegistry({ config, htpasswd, tls, port, dataDir });
        const readyAt = await ready;
        try {
            const passedAt = await check;
            runs.push({ startDelayMs, readyToPassedMs: passedAt - readyAt, checkTotalMs: passedAt - started });
        } finally {
            await registry.stop();
            fs.rmSync(registry.dir, { recursive: true, force: true });
        }
    }
    return runs;
}

/**
 * `_catalog` paged as Distribution 2.8.2+ pages it: `n` defaults to 100, above 1000 is a 400
 * PAGINATION_NUMBER_INVALID, `last` is exclusive in storage-walk order, and a full page that has more after
 * it carries `Link: </v2/_catalog?last=<last>&n=<n>>; rel="next"`.
 */
async function simulatedCatalog(
    names: string[],
    cert: { certFile: string; keyFile: string },
): Promise<{ port: number; close(): Promise<void> }> {
    const sorted = [...names].sort(compareRepositoryNames);
    const server = https.createServer(
        { cert: fs.readFileSync(cert.certFile), key: fs.readFileSync(cert.keyFile) },
        (req, res) => {
            const url = new URL(req.url ?? "/", "https://x");
            if (url.pathname !== "/v2/_catalog") {
                res.writeHead(404).end();
                return;
            }
            const n = url.searchParams.has("n") ? Number(url.searchParams.get("n")) : defaultPageSize;
            if (!Number.isInteger(n) || n < 0 || n > 1000) {
                res.writeHead(400, { "Content-Type": "application/json" });
                res.end(
                    JSON.stringify({
                        errors: [
                            {
                                code: "PAGINATION_NUMBER_INVALID",
                                message: "invalid number of results requested",
                                detail: { n },
                            },
                        ],
                    }),
                );
                return;
            }
            const last = url.searchParams.get("last") ?? "";
            const start = last ? sorted.findIndex(r => compareRepositoryNames(r, last) > 0) : 0;
            const from = start < 0 ? sorted.length : start;
            const page = sorted.slice(from, from + n);
            const headers: Record<string, string> = { "Content-Type": "application/json" };
            if (page.length === n && n > 0 && from + n < sorted.length) {
                headers.Link = `</v2/_catalog?last=${encodeURIComponent(page[page.length - 1])}&n=${n}>; rel="next"`;
            }
            res.writeHead(200, headers);
            res.end(JSON.stringify({ repositories: page }));
        },
    );
    await new Promise<void>(resolve => server.listen(0, "127.0.0.1", resolve));
    return {
        port: (server.address() as net.AddressInfo).port,
        close: () =>
            new Promise(resolve => {
                server.close(() => resolve());
                server.closeAllConnections();
            }),
    };
}

/** The naive way: read pages from the start until the name shows up. */
async function walkUntilFound(e: RegistryEndpoint, name: string, pageSize: number): Promise<boolean> {
    let page = await catalogPage(e, { n: pageSize });
    for (;;) {
        if (page.repositories.includes(name)) {
            return true;
        }
        if (!page.next) {
            return false;
        }
        page = await catalogPage(e, { path: page.next });
    }
}

async function catalogRequests(dir: string): Promise<VerificationFigures["catalogRequests"]> {
    const cert = makeSelfSignedCertificate(path.join(dir, "catalog-tls"), hostname);
    // Names spread like a real registry's: a few teams, several images each, sorted by the catalog's order.
    const names = Array.from(
        { length: catalogSize },
        (_, i) => `team-${String(i % 50).padStart(2, "0")}/image-${String(i).padStart(4, "0")}`,
    );
    const sorted = [...names].sort(compareRepositoryNames);
    const targets = [sorted[0], sorted[Math.floor(sorted.length / 2)], sorted[sorted.length - 1], "team-99/absent"];
    const server = await simulatedCatalog(names, cert);
    const figures: VerificationFigures["catalogRequests"] = [];
    try {
        // Warm-up: the first TLS handshake and JIT would be charged to the first figure.
        await catalogPage(
            { hostname, address: "127.0.0.1", port: server.port, tls: { mode: "ca", caCertificate: cert.certPem } },
            { n: 1 },
        );
        for (const repository of targets) {
            const run = async (strategy: string, fn: (e: RegistryEndpoint) => Promise<boolean>) => {
                const counter = { requests: 0 };
                const e: RegistryEndpoint = {
                    hostname,
                    address: "127.0.0.1",
                    port: server.port,
                    tls: { mode: "ca", caCertificate: cert.certPem },
                    counter,
                };
                const started = process.hrtime.bigint();
                const found = await fn(e);
                const ms = Number(process.hrtime.bigint() - started) / 1e6;
                if (found !== (repository !== "team-99/absent")) {
                    throw new Error(`${strategy} got ${repository} wrong`);
                }
                figures.push({ strategy, repository, requests: counter.requests, ms });
            };
            await run("walk from the start, n=100 (default)", e => walkUntilFound(e, repository, 100));
            await run("walk from the start, n=1000 (maximum)", e => walkUntilFound(e, repository, 1000));
            await run(
                "findRepositories: from last=<prefix>, n=100",
                async e => (await findRepositories(e, [repository])).present.length === 1,
            );
        }
    } finally {
        await server.close();
    }
    return figures;
}

export async function main(): Promise<VerificationFigures> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dr-bench-verification-"));
    const figures: VerificationFigures = { readyToPassed: [], catalogRequests: [] };
    try {
        console.log(
            "Verification: registry ready (first 200 on GET /, polled every 10 ms) -> check passed (real docker-registry, TLS, htpasswd cost 5; check started first)",
        );
        if (["docker-registry", "skopeo", "openssl"].every(hasCommand)) {
            figures.readyToPassed = await readyToPassed(dir);
            for (const r of figures.readyToPassed) {
                console.log(
                    `  registry started ${(r.startDelayMs / 1000).toFixed(1)} s after the check: passed ${r.readyToPassedMs} ms after its first answer` +
                        ` (${r.checkTotalMs} ms after the check began)`,
                );
            }
            console.log(
                `  backoff ${firstDelayMs} ms doubling to ${maxDelayMs} ms; the wait after ready is at most the current step`,
            );
        } else {
            console.log("  skipped: needs docker-registry, skopeo and openssl");
        }
        console.log();
        console.log(`Verification: HTTP requests to confirm one repository in a catalog of ${catalogSize}`);
        console.log(
            "  (simulated: a local HTTPS server paging _catalog exactly as Distribution 2.8.2+ does; the real registry is covered up to 131 repositories by tests/integration/registryClient.test.ts)",
        );
        figures.catalogRequests = await catalogRequests(dir);
        for (const f of figures.catalogRequests) {
            console.log(
                `  ${f.repository.padEnd(18)} ${f.strategy.padEnd(46)} ${String(f.requests).padStart(3)} requests ${f.ms.toFixed(1).padStart(7)} ms`,
            );
        }
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
    return figures;
}

if (require.main === module) {
    main().catch(e => {
        console.error(e);
        process.exit(1);
    });
}
