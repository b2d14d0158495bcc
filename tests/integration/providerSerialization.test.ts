import * as childProcess from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as readline from "readline";
import { renderHtpasswd } from "../../components/htpasswd";
import { renderRegistryConfig } from "../../components/registryConfig";
import { settingsFromArgs } from "../../components/settings";
import { LocalImage, makeOciImage } from "../support/ociImage";
import { RunningRegistry, startRegistry } from "../support/registryProcess";
import { isServed } from "../support/isServed";
import { pushImage } from "../support/skopeoPush";
import { firstReason, itUnless, needsCommands, whyNoRegistry } from "../support/requirements";
import { SelfSignedCertificate, makeSelfSignedCertificate } from "../support/tls";

/*
 * The engine never runs the providers in the program's process: `new pulumi.dynamic.Resource` serializes the
 * provider object (dynamic/index.js, serializeProvider: serializeFunction(() => provider, { allowSecrets: true }))
 * into the `__provider` input, and the dynamic-provider host (cmd/dynamic-provider) later loads that text with
 * `requireFromString(text).handler()` in a plain Node process and calls check/diff/create/update/delete with
 * values that went through protobuf Structs (JSON). This test does the same three steps for real.
 */

const whyNoRun = firstReason(needsCommands("skopeo", "openssl"), whyNoRegistry(2));
const withRegistry = itUnless(whyNoRun);
const root = path.resolve(__dirname, "..", "..");
const hostname = "registry.test";
const user = { username: "engine", password: 'serialized: p@ss "w"' };

let dir: string;
let tls: SelfSignedCertificate;
let registry: RunningRegistry;
let imageA: LocalImage;
let imageB: LocalImage;
let texts: Record<"catalog" | "tags" | "catalogResource" | "tagsResource", string>;
let containsSecrets: boolean[];
let host: ProviderHost;

/**
 * Runs as the Pulumi program does: plain node with ts-node registered on the project's tsconfig (as the
 * language host does), cwd the project. Writes what serializeFunction makes of each provider, and the
 * `__provider` input that constructing each Resource sends to the engine (seen through mocks).
 */
const serializerScript = `
const fs = require("fs");
const path = require("path");
const [root, out] = process.argv.slice(2);
require(path.join(root, "node_modules", "ts-node")).register({ project: path.join(root, "tsconfig.json"), transpileOnly: true });
const pulumi = require(path.join(root, "node_modules", "@pulumi", "pulumi"));
const checks = require(path.join(root, "components", "verification", "registryChecks.ts"));
(async () => {
    const result = { containsSecrets: [] };
    for (const [key, provider] of [["catalog", checks.catalogCheckProvider], ["tags", checks.tagsCheckProvider]]) {
        const sf = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
        result[key] = sf.text;
        result.containsSecrets.push(sf.containsSecrets);
    }
    const seen = {};
    const registered = new Promise(resolve => pulumi.runtime.setMocks({
        newResource(args) {
            seen[args.type] = args.inputs.__provider;
            if (Object.keys(seen).length === 2) resolve();
            return { id: args.name, state: args.inputs };
        },
        call(args) { return args.inputs; },
    }, "project", "stack", false));
    const target = { hostname: "h", address: "127.0.0.1", port: 443, username: "u", password: "p", tls: { mode: "insecure" } };
    new checks.CatalogCheck("c", { ...target, repositories: ["r"] });
    new checks.TagsCheck("t", { ...target, repository: "r", tags: ["1"] });
    await registered;
    result.catalogResource = seen["pulumi-nodejs:dynamic/registry:CatalogCheck"];
    result.tagsResource = seen["pulumi-nodejs:dynamic/registry:TagsCheck"];
    fs.writeFileSync(out, JSON.stringify(result));
})().catch(e => { console.error(e); process.exit(1); });
`;

/**
 * The dynamic-provider host's part, in plain node without ts-node: deserialize each provider text once
 * (getProvider's cache) and answer calls that arrive as JSON lines, as the host answers gRPC calls.
 */
const hostScript = `
const fs = require("fs");
const readline = require("readline");
const requireFromString = require(process.argv[2]);
const providers = {};
function getProvider(file) {
    if (!providers[file]) providers[file] = requireFromString(fs.readFileSync(file, "utf8")).handler();
    return providers[file];
}
readline.createInterface({ input: process.stdin }).on("line", async line => {
    const { id, file, method, args } = JSON.parse(line);
    try {
        const value = await getProvider(file)[method](...args);
        process.stdout.write(JSON.stringify({ id, value: value === undefined ? null : value }) + "\\n");
    } catch (e) {
        process.stdout.write(JSON.stringify({ id, error: { message: e.message, isError: e instanceof Error, text: String(e), name: e.name, kind: e.kind } }) + "\\n");
    }
});
`;

interface HostError {
    message: string;
    isError: boolean;
    text: string;
    name: string;
    /** RegistryError's kind, which decides whether a check retries. */
    kind?: string;
}

class ProviderHost {
    private readonly child: childProcess.ChildProcess;
    private readonly pending = new Map<number, (reply: { value?: any; error?: HostError }) => void>();
    private nextId = 0;
    stderr = "";

    constructor() {
        // A script file, not `node -e`: eval mode makes every built-in module a global, which would hide a
        // missing require. Only PATH: nothing inherited from jest (no ts-node, no NODE_OPTIONS).
        const script = path.join(dir, "host.js");
        fs.writeFileSync(script, hostScript);
        const requireFromString = require.resolve("require-from-string", {
            paths: [path.join(root, "node_modules", "@pulumi", "pulumi")],
        });
        this.child = childProcess.spawn(process.execPath, [script, requireFromString], {
            cwd: root,
            env: { PATH: process.env.PATH ?? "" },
            stdio: ["pipe", "pipe", "pipe"],
        });
        this.child.stderr!.on("data", d => {
            this.stderr += d;
        });
        readline.createInterface({ input: this.child.stdout! }).on("line", line => {
            const reply = JSON.parse(line);
            this.pending.get(reply.id)?.(reply);
            this.pending.delete(reply.id);
        });
    }

    /** Calls a method of the provider in `file`; args go through JSON like the engine's protobuf Structs. */
    call(file: string, method: string, ...args: unknown[]): Promise<{ value?: any; error?: HostError }> {
        const id = this.nextId++;
        return new Promise(resolve => {
            this.pending.set(id, resolve);
            this.child.stdin!.write(JSON.stringify({ id, file, method, args }) + "\n");
        });
    }

    stop(): Promise<void> {
        return new Promise(resolve => {
            if (this.child.exitCode !== null) {
                resolve();
                return;
            }
            this.child.once("exit", () => resolve());
            this.child.stdin!.end();
            this.child.kill();
        });
    }
}

function push(source: string, reference: string) {
    pushImage({ port: registry.port, certDir: tls.certDir, ...user }, source, reference);
}

function providerFile(key: keyof typeof texts): string {
    return path.join(dir, `${key}.js`);
}

/** The inputs as the engine sends them to create: the program's values plus the serialized provider. */
function inputs(key: "catalog" | "tags", values: Record<string, unknown>) {
    return {
        hostname,
        address: "127.0.0.1",
        port: registry.port,
        username: user.username,
        password: user.password,
        tls: { mode: "ca", caCertificate: tls.certPem },
        deadlineSeconds: 10,
        ...values,
        __provider: texts[key],
    };
}

function served(repository: string, tag: string): Promise<boolean> {
    return isServed(
        {
            hostname,
            address: "127.0.0.1",
            port: registry.port,
            username: user.username,
            password: user.password,
            tls: { mode: "insecure" },
        },
        repository,
        tag,
    );
}

beforeAll(async () => {
    if (whyNoRun) {
        return;
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "dr-serialize-"));
    const serialized = path.join(dir, "serialized.json");
    // Runs while the registry starts: ts-node and the serializer take a few seconds.
    // A file again, not `node -e`: in eval mode the serializer takes https and net for globals and drops them.
    const serializer = path.join(dir, "serialize.js");
    fs.writeFileSync(serializer, serializerScript);
    const serializing = new Promise<void>((resolve, reject) => {
        childProcess.execFile(
            process.execPath,
            [serializer, root, serialized],
            { cwd: root, env: { PATH: process.env.PATH ?? "" } },
            (err, _stdout, stderr) =>
                err ? reject(new Error(`serializing the providers failed: ${stderr}`)) : resolve(),
        );
    });
    tls = makeSelfSignedCertificate(path.join(dir, "tls"), hostname);
    registry = await startRegistry({
        config: renderRegistryConfig(settingsFromArgs("registry", {})),
        htpasswd: renderHtpasswd([user], "test-salt-key", 4),
        tls,
    });
    imageA = makeOciImage(path.join(dir, "a"), "a", "serialized a\n");
    imageB = makeOciImage(path.join(dir, "b"), "b", "serialized b\n");
    push(imageA.source, "web:1.0");
    push(imageB.source, "web:2.0");
    await serializing;
    const result = JSON.parse(fs.readFileSync(serialized, "utf8"));
    containsSecrets = result.containsSecrets;
    texts = {
        catalog: result.catalog,
        tags: result.tags,
        catalogResource: result.catalogResource,
        tagsResource: result.tagsResource,
    };
    for (const key of Object.keys(texts) as (keyof typeof texts)[]) {
        fs.writeFileSync(providerFile(key), texts[key]);
    }
    host = new ProviderHost();
}, 60000);

afterAll(async () => {
    await host?.stop();
    await registry?.stop();
    if (dir) {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

describe("the providers, serialized as the engine serializes them and run in a fresh Node process", () => {
    withRegistry(
        "serializeFunction gives exactly the __provider text the Resources send; it requires only Node built-ins and captures no secret",
        () => {
            expect(texts.catalog).toBe(texts.catalogResource);
            expect(texts.tags).toBe(texts.tagsResource);
            expect(containsSecrets).toEqual([false, false]);
            for (const text of [texts.catalog, texts.tags]) {
                const required = [...text.matchAll(/require\("([^"]+)"\)/g)].map(m => m[1]);
                expect(required.sort()).toEqual(["https", "net"]);
                expect(text).toContain("exports.handler");
            }
        },
    );

    withRegistry(
        "the tags check: check, create (digests), diff, update (deletes the dropped tag), delete",
        async () => {
            const file = providerFile("tags");
            const news = inputs("tags", { repository: "web", tags: ["1.0", "2.0"], deleteRemovedImages: true });
            expect((await host.call(file, "check", {}, news)).value.failures).toEqual([]);

            const created = (await host.call(file, "create", news)).value;
            expect(created.id).toBe(`tags@${hostname}:${registry.port}/web`);
            expect(created.outs.digests).toEqual({ "1.0": imageA.manifestDigest, "2.0": imageB.manifestDigest });
            expect(created.outs.__provider).toBeUndefined();

            expect((await host.call(file, "diff", created.id, created.outs, news)).value).toMatchObject({
                changes: false,
            });
            const fewer = { ...news, tags: ["1.0"] };
            expect((await host.call(file, "diff", created.id, created.outs, fewer)).value).toMatchObject({
                changes: true,
                diffs: ["tags"],
            });

            const updated = (await host.call(file, "update", created.id, created.outs, fewer)).value;
            expect(updated.outs.digests).toEqual({ "1.0": imageA.manifestDigest });
            expect(await served("web", "2.0")).toBe(false);
            expect(await served("web", "1.0")).toBe(true);

            // The delete runs the serialized code kept in state, with the state's values.
            expect(await host.call(file, "delete", created.id, { ...updated.outs, __provider: texts.tags })).toEqual({
                id: expect.any(Number),
                value: null,
            });
            expect(await served("web", "1.0")).toBe(false);
        },
    );

    withRegistry(
        "the catalog check: create and diff; a failure arrives as an Error with the registry's message",
        async () => {
            const file = providerFile("catalog");
            push(imageA.source, "web:1.0");
            const news = inputs("catalog", { repositories: ["web"] });
            const created = (await host.call(file, "create", news)).value;
            expect(created.outs.repositories).toEqual(["web"]);
            expect((await host.call(file, "diff", created.id, created.outs, news)).value).toMatchObject({
                changes: false,
            });

            const missing = await host.call(
                file,
                "create",
                inputs("catalog", { repositories: ["ghost"], deadlineSeconds: 1 }),
            );
            expect(missing.error!.isError).toBe(true);
            expect(missing.error!.message).toContain('does not list "ghost"');

            const refused = await host.call(
                file,
                "create",
                inputs("catalog", { repositories: ["web"], password: "wrong", deadlineSeconds: 1 }),
            );
            expect(refused.error!.isError).toBe(true);
            expect(refused.error!.message).toContain('refused the password of user "engine"');
        },
    );

    withRegistry(
        "a RegistryError keeps its message, name and kind through serialization (a non-retryable one ends at once)",
        async () => {
            const file = providerFile("tags");
            // Were it retried, the hour's deadline would outlast the test's timeout.
            const reply = await host.call(
                file,
                "create",
                inputs("tags", {
                    repository: "web",
                    tags: ["1.0"],
                    tls: { mode: "ca" },
                    deleteRemovedImages: true,
                    deadlineSeconds: 3600,
                }),
            );
            expect(reply.error).toEqual({
                isError: true,
                name: "RegistryError",
                kind: "invalidSettings",
                message:
                    'tls mode "ca" needs caCertificate, the PEM of the CA that signed the certificate of registry.test',
                text: 'RegistryError: tls mode "ca" needs caCertificate, the PEM of the CA that signed the certificate of registry.test',
            });
        },
    );
});
