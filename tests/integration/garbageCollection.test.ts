import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderHtpasswd } from "../../components/htpasswd";
import { renderRegistryConfig } from "../../components/registryConfig";
import { PlainSettingsArgs, secretInputEntries, settingsFromArgs } from "../../components/settings";
import { renderDeployment } from "../../components/templates/deployment";
import { renderGarbageCollectionCronJob } from "../../components/templates/garbageCollectionCronJob";
import { renderSecret } from "../../components/templates/secret";
import {
    ApiTarget,
    deleteManifest,
    pullProblems,
    pushImage,
    randomLayer,
    uploadStatus,
} from "../support/registryImages";
import { freePort } from "../support/ports";
import {
    containerEnvironment,
    registryBinary,
    registryV3Binary,
    RegistryProcessOptions,
    runInPodLayout,
    RunningRegistry,
    startRegistry,
} from "../support/registryProcess";
import { haveRedis, startRedis, whyNoRedis } from "../support/redisServer";
import { firstReason, itUnless, needsCommands, whyNoRegistry } from "../support/requirements";

/*
 * The garbage-collection job's collecting container, for real: the script the CronJob holds, run with the environment
 * it gives, in the registry's pod layout (the rendered config, htpasswd and data at the pod's paths), by busybox's sh
 * as in the official Alpine images, against real registries of both major versions made read-only by the variable
 * the job's first container patches into the Deployment. (That container's kubectl steps run in the real-node e2e.)
 */

const registries = [
    { label: "registry 2.8 (Debian's docker-registry)", image: "registry:2.8.3", binary: registryBinary, major: 2 },
    { label: "registry 3.1 (built from Go modules)", image: "registry:3.1.2", binary: registryV3Binary, major: 3 },
] as const;

const admin = { username: "admin", password: "admin p@ss" };
const pull = { username: "registry-pull", password: "pull-pass" };
const readOnly = { REGISTRY_STORAGE_MAINTENANCE_READONLY: '{"enabled":true}' };
const busyboxApplets = ["sh", "cat", "date", "du", "grep", "sed", "tail", "head", "cut", "sleep", "printf", "nc", "rm"];
const MB = 1024 * 1024;

let scratch: string;
beforeAll(() => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), "dr-gc-"));
});
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** A directory of busybox applets, bound into the pod's root at /opt/dr-busybox (the official images' tools). */
function appletsDirectory(): string {
    const dir = path.join(scratch, "applets");
    if (!fs.existsSync(dir)) {
        fs.mkdirSync(dir);
        for (const applet of busyboxApplets) {
            fs.symlinkSync("/bin/busybox", path.join(dir, applet));
        }
    }
    return dir;
}

/** The blob files of a filesystem storage, by digest. */
function blobFile(dataDir: string, digest: string): string {
    const hex = digest.replace("sha256:", "");
    return path.join(dataDir, "docker", "registry", "v2", "blobs", "sha256", hex.slice(0, 2), hex, "data");
}

function bytesUnder(dir: string): number {
    let total = 0;
    for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
        if (entry.isFile()) {
            total += fs.statSync(path.join(entry.parentPath, entry.name)).size;
        }
    }
    return total;
}

describe.each(registries)("garbage collection on $label", ({ image, binary, major }) => {
    const why = firstReason(whyNoRegistry(major), needsCommands("busybox"));
    const withRegistry = itUnless(why);

    /** The registry as rendered for these arguments, its pull account's probe credential, and what the job runs. */
    function rendered(args: PlainSettingsArgs = {}) {
        const settings = settingsFromArgs("registry", { image, ...args });
        const htpasswd = renderHtpasswd([admin, pull], "kept-salt-key", 4);
        const secretInputs = secretInputEntries({ redisPassword: args.redis?.password });
        const secret = renderSecret(settings, htpasswd, "kept-http-secret", pull, secretInputs) as any;
        const collect = (renderGarbageCollectionCronJob(settings) as any).spec.jobTemplate.spec.template.spec
            .containers[1];
        const secrets = { [secret.metadata.name]: secret.stringData };
        const env = containerEnvironment(collect, secrets);
        // The registry's own (its container in the Deployment): the Redis password, the HTTP secret...
        const registryEnv = containerEnvironment(
            renderDeployment(settings, "").spec!.template!.spec!.containers![0],
            secrets,
        );
        return {
            config: renderRegistryConfig(settings),
            htpasswd,
            script: collect.command[2] as string,
            env,
            registryEnv,
        };
    }

    /** The rendered registry with its container's environment, on the storage in dataDir; `more` overrides options. */
    function startRendered(
        r: ReturnType<typeof rendered>,
        dataDir: string,
        more: Partial<RegistryProcessOptions> = {},
    ): Promise<RunningRegistry> {
        return startRegistry({ config: r.config, htpasswd: r.htpasswd, binary, dataDir, env: r.registryEnv, ...more });
    }

    /** Runs the collecting container's script with the pods' addresses; the /work it shared with the other. */
    function collect(r: ReturnType<typeof rendered>, dataDir: string, addresses: string[], port: number) {
        const work = fs.mkdtempSync(path.join(scratch, "work-"));
        fs.writeFileSync(path.join(work, "pods"), addresses.map(a => `${a}\n`).join(""));
        fs.writeFileSync(path.join(work, "go"), "");
        const run = runInPodLayout(
            {
                config: r.config,
                htpasswd: r.htpasswd,
                binary,
                dataDir,
                binds: { [work]: "/work", [appletsDirectory()]: "/opt/dr-busybox" },
                env: { ...r.env, DR_PORT: String(port), PATH: "/opt/dr-busybox:/usr/sbin:/usr/bin:/sbin:/bin" },
            },
            ["/bin/busybox", "sh", "-c", r.script],
        );
        const read = (name: string) =>
            fs.existsSync(path.join(work, name)) ? fs.readFileSync(path.join(work, name), "utf8") : undefined;
        return {
            status: run.status,
            output: `${run.stdout}${run.stderr}`,
            gcStatus: read("gc.status"),
            result: read("gc.result"),
        };
    }

    /** Read-only replicas of one storage, on their own loopback addresses and one port, as pods are. */
    async function readOnlyReplicas(r: ReturnType<typeof rendered>, dataDir: string, hosts: string[], writable = 0) {
        const port = await freePort();
        const replicas: RunningRegistry[] = [];
        for (const [i, host] of hosts.entries()) {
            replicas.push(
                await startRendered(r, dataDir, {
                    host,
                    port,
                    env: i < writable ? r.registryEnv : { ...r.registryEnv, ...readOnly },
                }),
            );
        }
        return { port, replicas, stop: () => Promise.all(replicas.map(x => x.stop())) };
    }

    /** Two images sharing a 1 MB layer; the first, with 4 MB of its own, deleted through the API. */
    async function twoImagesOneDeleted(r: ReturnType<typeof rendered>, dataDir: string) {
        const writable = await startRendered(r, dataDir);
        const t: ApiTarget = { url: writable.url, ...admin };
        try {
            const shared = randomLayer(MB);
            const deleted = await pushImage(t, "team/app", "old", [shared, randomLayer(4 * MB)]);
            const kept = await pushImage(t, "team/app", "new", [shared, randomLayer(MB)]);
            expect(await deleteManifest(t, "team/app", deleted.manifestDigest)).toBe(202);
            return { deleted, kept };
        } finally {
            await writable.stop();
        }
    }

    withRegistry(
        "with every replica refusing writes (405), it frees the deleted image's own bytes and keeps the image that shares its layer whole",
        async () => {
            const r = rendered();
            const dataDir = fs.mkdtempSync(path.join(scratch, "data-"));
            const { deleted, kept } = await twoImagesOneDeleted(r, dataDir);
            const ownBlobs = deleted.blobs.filter(b => !kept.blobs.some(k => k.digest === b.digest));
            expect(ownBlobs.map(b => b.size).sort((a, b) => a - b)).toEqual([ownBlobs[0].size, 4 * MB]);
            const before = bytesUnder(dataDir);

            const { port, replicas, stop } = await readOnlyReplicas(r, dataDir, ["127.0.0.11", "127.0.0.12"]);
            let run: ReturnType<typeof collect>;
            try {
                // The variable the job's first container patches into the Deployment makes this version read-only.
                const statuses = [];
                for (const replica of replicas) {
                    statuses.push(await uploadStatus({ url: replica.url, ...admin }, "team/app"));
                }
                expect(statuses).toEqual([405, 405]);
                run = collect(r, dataDir, ["127.0.0.11", "127.0.0.12"], port);
            } finally {
                await stop();
            }
            expect({ status: run.status, gcStatus: run.gcStatus }).toEqual({ status: 0, gcStatus: "0\n" });
            expect(run.output).toContain("every replica refuses writes (405)");
            const freed = before - bytesUnder(dataDir);
            const ownBytes = ownBlobs.reduce((sum, b) => sum + b.size, 0);
            // At least 95% of what only the deleted image held left the storage; its blob files are gone.
            expect(freed / ownBytes).toBeGreaterThanOrEqual(0.95);
            expect(ownBlobs.filter(b => fs.existsSync(blobFile(dataDir, b.digest)))).toEqual([]);
            // The report: the blobs it deleted (the deleted manifest is a blob too), and the bytes du saw go (1 KiB blocks).
            const result = Object.fromEntries(
                run
                    .result!.trim()
                    .split("\n")
                    .map(l => l.split("=")),
            );
            expect(Number(result.blobs)).toBe(ownBlobs.length + 1);
            expect(fs.existsSync(blobFile(dataDir, deleted.manifestDigest))).toBe(false);
            expect(Math.abs(Number(result.bytesFreed) - freed)).toBeLessThanOrEqual(64 * 1024);

            const after = await startRendered(r, dataDir);
            try {
                expect(await pullProblems({ url: after.url, ...admin }, "team/app", "new")).toEqual([]);
            } finally {
                await after.stop();
            }
        },
        120000,
    );

    withRegistry(
        "a replica that still takes writes stops it before anything is collected (exit 3)",
        async () => {
            const r = rendered();
            const dataDir = fs.mkdtempSync(path.join(scratch, "data-"));
            const { deleted } = await twoImagesOneDeleted(r, dataDir);
            // The probe starts an upload on the writable replica (an upload folder, purged later); no blob goes.
            const blobs = path.join(dataDir, "docker", "registry", "v2", "blobs");
            const before = bytesUnder(blobs);
            const { port, stop } = await readOnlyReplicas(r, dataDir, ["127.0.0.13", "127.0.0.14"], 1);
            let run: ReturnType<typeof collect>;
            try {
                run = collect(r, dataDir, ["127.0.0.13", "127.0.0.14"], port);
            } finally {
                await stop();
            }
            expect({ status: run.status, gcStatus: run.gcStatus, result: run.result }).toEqual({
                status: 3,
                gcStatus: "3\n",
                result: undefined,
            });
            expect(run.output).toContain("the replica at 127.0.0.13 answered 202 to a write, not 405 (read-only)");
            expect(bytesUnder(blobs)).toBe(before);
            expect(deleted.blobs.filter(b => !fs.existsSync(blobFile(dataDir, b.digest)))).toEqual([]);
        },
        120000,
    );

    itUnless(why ?? (haveRedis ? undefined : whyNoRedis))(
        "with a Redis cache, it empties the registry's database there after collecting, with the password as the registry reads it",
        async () => {
            // A password that YAML would misread unquoted: the Secret holds it quoted, and the script reads it so.
            const redis = await startRedis({ password: 'p"w\\d: 0123' });
            try {
                const r = rendered({
                    redis: { address: redis.addr, db: 3, password: redis.password },
                    imageMajorVersion: major,
                });
                expect(r.env.REGISTRY_REDIS_PASSWORD).toBe(JSON.stringify(redis.password));
                expect({ address: r.env.DR_REDIS_ADDRESS, db: r.env.DR_REDIS_DB }).toEqual({
                    address: redis.addr,
                    db: "3",
                });
                await redis.commandIn(3, "SET", "blobdescriptor::sha256:deleted", "stale");
                await redis.commandIn(0, "SET", "someone-else", "kept");
                const dataDir = fs.mkdtempSync(path.join(scratch, "data-"));
                await twoImagesOneDeleted(r, dataDir);
                const { port, stop } = await readOnlyReplicas(r, dataDir, ["127.0.0.16"]);
                let run: ReturnType<typeof collect>;
                try {
                    run = collect(r, dataDir, ["127.0.0.16"], port);
                } finally {
                    await stop();
                }
                expect({ status: run.status, gcStatus: run.gcStatus }).toEqual({ status: 0, gcStatus: "0\n" });
                expect(run.output).toContain(
                    `emptied the blob-descriptor cache in Redis (database 3 at ${redis.addr})`,
                );
                expect(await redis.commandIn(3, "DBSIZE")).toBe(0);
                // Only the registry's database: another one on the same Redis keeps its keys.
                expect(await redis.command("GET", "someone-else")).toBe("kept");
            } finally {
                await redis.stop();
            }
        },
        120000,
    );

    if (major === 3) {
        withRegistry(
            "deleteUntagged also frees a manifest no tag points at any more (registry 3.x)",
            async () => {
                const r = rendered({ garbageCollection: { deleteUntagged: true } });
                expect(r.env.DR_DELETE_UNTAGGED).toBe("true");
                const dataDir = fs.mkdtempSync(path.join(scratch, "data-"));
                const writable = await startRendered(r, dataDir);
                let first, second;
                try {
                    const t: ApiTarget = { url: writable.url, ...admin };
                    first = await pushImage(t, "team/tool", "v1", [randomLayer(2 * MB)]);
                    // The same tag again: the first manifest is untagged now, not deleted.
                    second = await pushImage(t, "team/tool", "v1", [randomLayer(MB)]);
                } finally {
                    await writable.stop();
                }
                const { port, stop } = await readOnlyReplicas(r, dataDir, ["127.0.0.15"]);
                let run: ReturnType<typeof collect>;
                try {
                    run = collect(r, dataDir, ["127.0.0.15"], port);
                } finally {
                    await stop();
                }
                expect(run.status).toBe(0);
                const result = Object.fromEntries(
                    run
                        .result!.trim()
                        .split("\n")
                        .map(l => l.split("=")),
                );
                expect(Number(result.manifests)).toBe(1);
                expect(fs.existsSync(blobFile(dataDir, first.blobs[1].digest))).toBe(false);
                expect(fs.existsSync(blobFile(dataDir, second.blobs[1].digest))).toBe(true);
            },
            120000,
        );
    }
});
