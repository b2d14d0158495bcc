import * as path from "path";
import { run, toolsBin, waitFor } from "./realNode";
import { Testbed } from "./testbed";

/*
 * The garbage-collection job of a stack's registry, as an operator runs it and reads it: a Job made from the CronJob
 * with kubectl (`kubectl create job --from=cronjob/<name>-gc`), then its pod's status once it has ended.
 */

/** What the job's first container reported in its pod's status (its termination message), and its exit code. */
export interface GarbageCollectionReport {
    exitCode: number;
    garbageCollectStatus: string;
    blobsDeleted: number;
    manifestsDeleted: number;
    bytesFreed: number | null;
    garbageCollectSeconds: number;
    readOnlySeconds: number;
}

function kubectl(bed: Testbed, namespace: string, args: string[]): string {
    return run(path.join(toolsBin, "kubectl"), ["--kubeconfig", bed.cluster.kubeconfig, "-n", namespace, ...args]);
}

async function jobPods(bed: Testbed, namespace: string, job: string): Promise<any[]> {
    return (
        await bed.cluster.api.request("GET", `/api/v1/namespaces/${namespace}/pods?labelSelector=job-name%3D${job}`)
    ).body.items;
}

/** The pod of a job once the job has ended; a container that cannot start (a pull, a missing Secret) fails at once. */
export async function endedJobPod(bed: Testbed, namespace: string, job: string, seconds = 600): Promise<any> {
    const stuck = await waitFor(`job ${job} to end`, seconds, async () => {
        const status = (await bed.cluster.api.request("GET", `/apis/batch/v1/namespaces/${namespace}/jobs/${job}`)).body
            .status;
        if (status?.succeeded || status?.failed) {
            return "";
        }
        const waiting = (await jobPods(bed, namespace, job))
            .flatMap((p: any) => p.status.containerStatuses ?? [])
            .map((c: any) => c.state.waiting)
            .find((w: any) => w && /ErrImage|BackOff|CreateContainer/.test(w.reason));
        return waiting ? `${waiting.reason}: ${waiting.message}` : undefined;
    });
    if (stuck) {
        throw new Error(`job ${job} cannot start: ${stuck}`);
    }
    const pods = await jobPods(bed, namespace, job);
    if (pods.length !== 1) {
        throw new Error(`job ${job} has ${pods.length} pods, not 1`);
    }
    return pods[0];
}

export function reportOf(pod: any): GarbageCollectionReport {
    const window = pod.status.containerStatuses.find((c: any) => c.name === "read-only-window");
    return { exitCode: window.state.terminated.exitCode, ...JSON.parse(window.state.terminated.message) };
}

/** Runs a Job made from the registry's garbage-collection CronJob now, and returns its pod once it has ended. */
/** A run of the job: its ended pod, and the report it left. */
export type GarbageCollectionRun = Awaited<ReturnType<typeof collectGarbageNow>>;

export async function collectGarbageNow(bed: Testbed, namespace: string, job: string, cronJob = "registry-gc") {
    kubectl(bed, namespace, ["create", "job", `--from=cronjob/${cronJob}`, job]);
    const pod = await endedJobPod(bed, namespace, job);
    return { pod, report: reportOf(pod) };
}
