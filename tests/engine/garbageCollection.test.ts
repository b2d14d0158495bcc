import * as fs from "fs";
import * as path from "path";
import { itWhen } from "../support/requirements";
import {
    ApiTarget,
    blobsOf,
    deleteManifest,
    pullProblems,
    pushImage,
    PushedImage,
    randomLayer,
    uploadStatus,
} from "../support/registryImages";
import { collectGarbageNow, endedJobPod, GarbageCollectionRun, reportOf } from "./garbageCollectionJob";
import { makeRandomLayerImage } from "./randomLayerImage";
import { imageReference, imagesDir, readyPod, run, waitFor, whyNotRunnable } from "./realNode";
import {
    hostname,
    ingressAddress,
    password,
    registryPods,
    removeWork,
    startTestbed,
    Testbed,
    username,
} from "./testbed";

/**
 * Day two on the real node, for both major versions: deleting frees space only through garbage collection, which must
 * corrupt nothing; and a change of the registry (its memory limit, the admin's password) must not interrupt it.
 * `pulumi up` deploys the default configuration (a claim on local-path, tls generated) with the version's image; a
 * client asks through Traefik every 100 ms while things happen, and its failures are counted. Figures (GC time,
 * read-only window, failed requests) are printed and kept in <work>/logs/figures.json; nothing asserts them.
 */
const why = whyNotRunnable();
const e2e = itWhen(why === undefined, why ?? "");
const MB = 1024 * 1024;

const figures: Record<string, number | string> = {};
let bed: Testbed;

beforeAll(async () => {
    if (!why) {
        bed = await startTestbed("gc");
    }
}, 900000);

afterAll(async () => {
    if (!bed) {
        return;
    }
    fs.writeFileSync(path.join(bed.work, "logs", "figures.json"), JSON.stringify(figures, null, 2));
    console.log(`figures:\n${JSON.stringify(figures, null, 2)}`);
    await bed.stop();
    removeWork(bed.work);
}, 300000);

/** A client asking every 100 ms until stopped: how many of its requests failed, and with what. */
function everyTenthOfASecond(ask: () => Promise<string | undefined>) {
    let running = true;
    const failures: string[] = [];
    let requests = 0;
    const done = (async () => {
        while (running) {
            const started = Date.now();
            requests++;
            const problem = await ask().catch(e => String(e));
            if (problem) {
                failures.push(problem);
            }
            await new Promise(r => setTimeout(r, Math.max(0, 100 - (Date.now() - started))));
        }
    })();
    return {
        /** Stops the client (again: it is a no-op then) and says how it went. */
        stop: async () => {
            running = false;
            await done;
            return { requests, failures };
        },
    };
}

/** The bytes of these blobs still on a filesystem storage (their data files). */
function bytesOnVolume(volume: string, blobs: { digest: string }[]): number {
    return blobs
        .map(b => {
            const hex = b.digest.replace("sha256:", "");
            const file = path.join(volume, "docker", "registry", "v2", "blobs", "sha256", hex.slice(0, 2), hex, "data");
            return fs.existsSync(file) ? fs.statSync(file).size : 0;
        })
        .reduce((sum, n) => sum + n, 0);
}

const scenarios = [{ image: "registry-2" }, { image: "registry-3" }];

describe.each(scenarios)("day two on a real node with $image", ({ image: imageName }) => {
    const stack = `gc-${imageName}`;
    const image = why ? "" : imageReference(imageName);
    const version = image.split(":").pop();
    const namespacePath = "/api/v1/namespaces/examples";
    let admin: ApiTarget;
    let puller: ApiTarget;
    let volume = "";

    const up = async (step: string) => {
        const result = await bed.project.cli(`${stack}-${step}`, [
            "up",
            "--yes",
            "--skip-preview",
            "--non-interactive",
            "--stack",
            stack,
        ]);
        expect(result.code).toBe(0);
        return result;
    };

    const setConfig = (args: string[]) =>
        run("pulumi", ["config", "set", ...args, "--stack", stack], { cwd: bed.project.dir, env: bed.project.env });

    e2e("pulumi up deploys the registry with its garbage-collection CronJob, on its weekly schedule", async () => {
        run("pulumi", ["stack", "init", stack, "--secrets-provider", "passphrase", "--non-interactive"], {
            cwd: bed.project.dir,
            env: bed.project.env,
        });
        bed.writeStackConfig(stack, [
            `image: ${image}`,
            "pushTool: skopeo",
            "pushImages:",
            `  - docker-archive:${path.join(imagesDir, "e2e-hello.tar")}=hello:v1`,
        ]);
        await up("up");
        const outputs = bed.project.outputs(stack, { showSecrets: true });
        const target = { url: `https://${hostname}`, connectTo: ingressAddress, ca: outputs.caCertificate };
        admin = { ...target, username, password };
        puller = { ...target, username: outputs.pullUsername, password: outputs.pullPassword };
        const cronJob = (
            await bed.cluster.api.request("GET", "/apis/batch/v1/namespaces/examples/cronjobs/registry-gc")
        ).body;
        expect(cronJob.spec).toMatchObject({ schedule: "0 3 * * 0", suspend: false, concurrencyPolicy: "Forbid" });
        const claim = (await bed.cluster.api.request("GET", `${namespacePath}/persistentvolumeclaims/registry-data`))
            .body;
        const pv = (await bed.cluster.api.request("GET", `/api/v1/persistentvolumes/${claim.spec.volumeName}`)).body;
        volume = pv.spec.hostPath?.path ?? pv.spec.local?.path;
        expect(fs.existsSync(path.join(volume, "docker", "registry", "v2", "repositories", "hello"))).toBe(true);
    });

    e2e(
        "a deleted 50 MB image's bytes leave the volume after a GC run on demand; the image sharing its layers stays whole; pulls never fail and a push during it completes whole or is refused with 405",
        async () => {
            const shared = randomLayer(2 * MB);
            const big = await pushImage(admin, "team/app", "big", [shared, randomLayer(50 * MB)]);
            const kept = await pushImage(admin, "team/app", "kept", [shared, randomLayer(MB)]);
            expect(await deleteManifest(admin, "team/app", big.manifestDigest)).toBe(202);
            // The deleted image's own blobs, its manifest among them; the kept image shares its first layer.
            const own = [...big.blobs, { digest: big.manifestDigest }].filter(
                b => !kept.blobs.some(k => k.digest === b.digest),
            );
            const ownBytes = bytesOnVolume(volume, own);
            expect(ownBytes).toBeGreaterThan(50 * MB);

            // Pulls with the pull account, and pushes with the admin's, all through Traefik while the job runs.
            const pulls = everyTenthOfASecond(async () => {
                const problems = await pullProblems(puller, "team/app", "kept");
                return problems.length ? problems.join("; ") : undefined;
            });
            const pushes: { image?: PushedImage; tag: string; error?: string }[] = [];
            let pushing = true;
            const pusher = (async () => {
                for (let i = 0; pushing; i++) {
                    const tag = `during-${i}`;
                    try {
                        pushes.push({
                            tag,
                            image: await pushImage(admin, "team/during", tag, [randomLayer(64 * 1024)]),
                        });
                    } catch (e) {
                        pushes.push({ tag, error: String(e) });
                    }
                    await new Promise(r => setTimeout(r, 200));
                }
            })();
            let gc: GarbageCollectionRun;
            try {
                gc = await collectGarbageNow(bed, "examples", "gc-now");
            } finally {
                // Whatever happened, the clients stop: a loop left running would keep jest (and the node's lock) forever.
                pushing = false;
                await pusher;
                await pulls.stop();
            }
            const { requests, failures } = await pulls.stop();

            const { pod, report } = gc;
            expect({ exitCode: report.exitCode, gc: report.garbageCollectStatus }).toEqual({ exitCode: 0, gc: "0" });
            expect(pod.status.phase).toBe("Succeeded");
            figures[`${version}: GC run on demand, garbage-collect (s)`] = report.garbageCollectSeconds;
            figures[`${version}: GC run on demand, read-only window (s)`] = report.readOnlySeconds;
            figures[`${version}: pulls during GC (failed/asked)`] = `${failures.length}/${requests}`;
            expect({ failedPulls: failures.slice(0, 5), anyPulls: requests > 10 }).toEqual({
                failedPulls: [],
                anyPulls: true,
            });
            // The deleted image's own bytes left the volume (at least 95% asked; its blob files are gone), and the
            // report says what it freed (more, maybe: the uploads of refused pushes are garbage too).
            expect(1 - bytesOnVolume(volume, own) / ownBytes).toBeGreaterThanOrEqual(0.95);
            expect(report.blobsDeleted).toBeGreaterThanOrEqual(own.length);
            expect((report.bytesFreed ?? 0) / ownBytes).toBeGreaterThanOrEqual(0.95);
            expect(await pullProblems(admin, "team/app", "kept")).toEqual([]);
            // A push during the run either completed (and is whole) or was refused as read-only: never half stored.
            const refused = pushes.filter(p => p.error);
            expect(refused.filter(p => !/: 405 /.test(p.error!)).map(p => p.error)).toEqual([]);
            const stored = [];
            for (const p of pushes.filter(x => x.image)) {
                stored.push(`${p.tag}: ${(await pullProblems(admin, "team/during", p.tag)).join("; ") || "whole"}`);
            }
            expect(stored).toEqual(pushes.filter(x => x.image).map(p => `${p.tag}: whole`));
            expect(refused.length).toBeGreaterThan(0);
            // The registry takes writes again.
            expect(await uploadStatus(admin, "team/app")).toBe(202);
        },
    );

    e2e(
        "the same image pushed again after the GC is whole: every replica restarted, so no cache remembers the deleted blobs",
        async () => {
            const layer = randomLayer(5 * MB);
            const first = await pushImage(admin, "team/again", "v1", [layer]);
            expect(await deleteManifest(admin, "team/again", first.manifestDigest)).toBe(202);
            expect((await collectGarbageNow(bed, "examples", "gc-again")).report.exitCode).toBe(0);
            await pushImage(admin, "team/again", "v1", [layer]);
            expect(await pullProblems(admin, "team/again", "v1")).toEqual([]);
            expect(await pullProblems(puller, "team/again", "v1")).toEqual([]);
        },
    );

    e2e("after the GC runs, a second pulumi up, a preview and a refresh report no changes", async () => {
        for (const args of [
            ["up", "--yes", "--skip-preview", "--expect-no-changes"],
            ["preview", "--expect-no-changes"],
            ["refresh", "--yes", "--expect-no-changes"],
        ]) {
            const result = await bed.project.cli(`${stack}-${args[0]}-after-gc`, [
                ...args,
                "--non-interactive",
                "--stack",
                stack,
            ]);
            expect(`${args[0]}: ${result.code}`).toBe(`${args[0]}: 0`);
        }
    });

    e2e("a memory-limit change and an admin password change roll the pods with no failed request", async () => {
        const changes: [string, string[]][] = [
            ["memory-limit", ["memoryLimit", "600Mi"]],
            ["password", ["--secret", "password", `${password} rotated`]],
        ];
        const rollouts = [];
        for (const [step, change] of changes) {
            setConfig(change);
            const before = await readyPod(bed.cluster.api, "examples", registryPods);
            // The pull account's credentials do not change with the admin's: they must work throughout.
            const client = everyTenthOfASecond(async () => {
                const r = await pullProblems(puller, "team/app", "kept");
                return r.length ? r.join("; ") : undefined;
            });
            try {
                await up(step);
            } finally {
                await client.stop();
            }
            const { requests, failures } = await client.stop();
            figures[`${version}: requests failed during the ${step} rollout (failed/asked)`] =
                `${failures.length}/${requests}`;
            const after = await readyPod(bed.cluster.api, "examples", registryPods);
            rollouts.push({ step, rolled: after.metadata.uid !== before.metadata.uid, failures: failures.slice(0, 5) });
        }
        expect(rollouts).toEqual([
            { step: "memory-limit", rolled: true, failures: [] },
            { step: "password", rolled: true, failures: [] },
        ]);
        // Once the ingress has forgotten the stopped pod (a second or two), only the new password is taken.
        const rotated = { ...admin, password: `${password} rotated` };
        const settled = async (a: ApiTarget, b: ApiTarget) =>
            waitFor("the ingress to send nothing to the stopped pod", 30, async () =>
                (await uploadStatus(a, "team/app")) === 202 && (await uploadStatus(b, "team/app")) === 401
                    ? true
                    : undefined,
            );
        expect(await settled(rotated, admin)).toBe(true);
        // Restored for the checks of the next steps (the Terraform state still says the first one).
        setConfig(["--secret", "password", password]);
        await up("password-back");
        expect(await settled(admin, rotated)).toBe(true);
    });

    e2e(
        "an image removed from pushImages is deleted by the stack, and a scheduled run, on its own, frees its bytes",
        async () => {
            const archive = makeRandomLayerImage(path.join(bed.work, `doomed-${imageName}`), 10);
            setConfig(["--path", "pushImages[1]", `docker-archive:${archive}=doomed:v1`]);
            await up("add-doomed");
            const blobs = await blobsOf(admin, "doomed", "v1");
            const before = bytesOnVolume(volume, blobs);
            expect(before).toBeGreaterThan(10 * MB);
            // Removed from the list: the checks delete its manifest (deleteRemovedImages); the schedule is every minute.
            run("pulumi", ["config", "rm", "--path", "pushImages[1]", "--stack", stack], {
                cwd: bed.project.dir,
                env: bed.project.env,
            });
            setConfig(["gcSchedule", "* * * * *"]);
            await up("remove-doomed");
            expect(await pullProblems(admin, "doomed", "v1")).toEqual(["manifest doomed:v1: 404"]);
            const job = await waitFor("the CronJob to start a run", 150, async () => {
                const jobs = (await bed.cluster.api.request("GET", "/apis/batch/v1/namespaces/examples/jobs")).body
                    .items;
                const scheduled = jobs.find(
                    (j: any) => j.metadata.annotations?.["batch.kubernetes.io/cronjob-scheduled-timestamp"],
                );
                return scheduled?.metadata.name;
            });
            // One run is enough: the schedule goes back to on demand before the next minute starts another.
            setConfig(["gcSchedule", "none"]);
            await up("schedule-off");
            expect(reportOf(await endedJobPod(bed, "examples", job)).exitCode).toBe(0);
            expect(1 - bytesOnVolume(volume, blobs) / before).toBeGreaterThanOrEqual(0.95);
            const cronJob = (
                await bed.cluster.api.request("GET", "/apis/batch/v1/namespaces/examples/cronjobs/registry-gc")
            ).body;
            expect(cronJob.spec.suspend).toBe(true);
        },
    );

    e2e(
        "pulumi destroy removes the CronJob with its account, Role and binding, and the Jobs made from it",
        async () => {
            const jobs = (await bed.cluster.api.request("GET", "/apis/batch/v1/namespaces/examples/jobs")).body.items;
            expect(jobs.map((j: any) => j.metadata.ownerReferences?.[0]?.name).sort()).toEqual(
                jobs.map(() => "registry-gc"),
            );
            const destroy = await bed.project.cli(`${stack}-destroy`, [
                "destroy",
                "--yes",
                "--skip-preview",
                "--non-interactive",
                "--stack",
                stack,
            ]);
            expect(destroy.code).toBe(0);
            for (const objectPath of [
                "/apis/batch/v1/namespaces/examples/cronjobs/registry-gc",
                `${namespacePath}/serviceaccounts/registry-gc`,
                "/apis/rbac.authorization.k8s.io/v1/namespaces/examples/roles/registry-gc",
                "/apis/rbac.authorization.k8s.io/v1/namespaces/examples/rolebindings/registry-gc",
            ]) {
                expect(`${objectPath}: ${(await bed.cluster.api.request("GET", objectPath)).status}`).toBe(
                    `${objectPath}: 404`,
                );
            }
            await waitFor("the namespace to be gone", 120, async () =>
                (await bed.cluster.api.request("GET", namespacePath)).status === 404 ? true : undefined,
            );
            run("pulumi", ["stack", "rm", "--yes", "--stack", stack], { cwd: bed.project.dir, env: bed.project.env });
        },
    );
});
