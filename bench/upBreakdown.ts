// Where `pulumi up` spends its time, on the real node of tests/engine, from the CLI's own OpenTelemetry trace
// (`--otel-traces file://...`): a first up of the program with the default config, then no-change ups and previews,
// each against a trivial JavaScript stack's no-change up and preview measured in the same run on the same CLI.
// Figures are printed; nothing is asserted. Run as root, one real node per machine:
//   flock /tmp/distribution-registry-real-node.lock npm run bench:up
// Needs what `npm run test:e2e` builds. BENCH_UP_RUNS (default 5) sets the no-change runs of each.
import * as fs from "fs";
import * as path from "path";
import { imageReference, imagesDir, readyPod, run, whyNotRunnable } from "../tests/engine/realNode";
import { makeScratchProject, ScratchProject } from "../tests/engine/pulumiProject";
import { registryPods, removeWork, startTestbed, Testbed } from "../tests/engine/testbed";

const runs = Number(process.env.BENCH_UP_RUNS ?? 5);

interface Span {
    name: string;
    start: number;
    end: number;
    attributes: Record<string, unknown>;
}

/** The spans of an OTLP JSON trace file, times in milliseconds from the first span's start. */
function readSpans(file: string): Span[] {
    const spans: Span[] = [];
    // The CLI appends one JSON document per export.
    for (const line of fs.readFileSync(file, "utf8").split("\n").filter(Boolean)) {
        for (const rs of JSON.parse(line).resourceSpans ?? []) {
            for (const ss of rs.scopeSpans ?? []) {
                for (const s of ss.spans ?? []) {
                    spans.push({
                        name: s.name,
                        start: Number(BigInt(s.startTimeUnixNano) / 1000n) / 1000,
                        end: Number(BigInt(s.endTimeUnixNano) / 1000n) / 1000,
                        attributes: Object.fromEntries(
                            (s.attributes ?? []).map((a: any) => [a.key, Object.values(a.value ?? {})[0]]),
                        ),
                    });
                }
            }
        }
    }
    const t0 = Math.min(...spans.map(s => s.start));
    return spans.map(s => ({ ...s, start: s.start - t0, end: s.end - t0 }));
}

/** Total milliseconds covered by the union of these intervals (RPCs overlap: counted once). */
function covered(spans: Span[]): number {
    const sorted = [...spans].sort((a, b) => a.start - b.start);
    let total = 0;
    let end = -Infinity;
    for (const s of sorted) {
        if (s.end > end) {
            total += s.end - Math.max(s.start, end);
            end = s.end;
        }
    }
    return total;
}

/** Where one run spent its time, in seconds. */
function breakdown(spans: Span[]): Record<string, number> {
    const total = Math.max(...spans.map(s => s.end));
    const runProgram = spans.find(s => s.name === "run-program");
    const rpcs = (service: string) => spans.filter(s => s.attributes["rpc.service"] === service);
    const resourceRpcs = rpcs("pulumirpc.ResourceMonitor").filter(
        s => s.attributes["rpc.method"] === "RegisterResource",
    );
    const firstRegistration = Math.min(...resourceRpcs.map(s => s.start));
    const byProvider = new Map<string, Span[]>();
    for (const s of spans.filter(x => x.attributes["rpc.service"] === "pulumirpc.ResourceProvider")) {
        const peer = String(s.attributes["net.peer.name"] ?? "?");
        byProvider.set(peer, [...(byProvider.get(peer) ?? []), s]);
    }
    const launches = spans.filter(s => s.name === "newPlugin");
    const figures: Record<string, number> = {
        "total (the CLI's span)": total,
        "engine start, up to the program's run": runProgram ? runProgram.start : 0,
        "the program: start, load and compile, up to its first registration": runProgram
            ? firstRegistration - runProgram.start
            : 0,
        "the program: from its first registration to its end": runProgram ? runProgram.end - firstRegistration : 0,
        "plugin launches (union)": covered(launches),
    };
    for (const launch of launches) {
        const name = `  launch of ${path.basename(String(launch.attributes.bin ?? launch.attributes.prefix))}`;
        figures[name] = (figures[name] ?? 0) + (launch.end - launch.start);
    }
    const methods = new Map<string, Span[]>();
    for (const list of byProvider.values()) {
        for (const s of list) {
            const method = String(s.attributes["rpc.method"]);
            methods.set(method, [...(methods.get(method) ?? []), s]);
        }
    }
    for (const [method, list] of [...methods].sort()) {
        figures[`provider ${method} calls, ${list.length} (union)`] = covered(list);
    }
    figures["after the program ended"] = runProgram ? total - runProgram.end : 0;
    return Object.fromEntries(Object.entries(figures).map(([k, v]) => [k, Number((v / 1000).toFixed(2))]));
}

/**
 * When the checks passed, in seconds from the CLI's start: the end of the last Create the dynamic-provider host
 * (pulumi-resource-pulumi-nodejs, which runs only the checks) answered.
 */
function checksPassedAt(spans: Span[]): number | undefined {
    const launch = spans.find(s => String(s.attributes.bin ?? "").endsWith("pulumi-resource-pulumi-nodejs"));
    if (!launch) {
        return undefined;
    }
    const provider = spans.filter(s => s.attributes["rpc.service"] === "pulumirpc.ResourceProvider");
    const peer = provider.find(s => s.start >= launch.end && s.attributes["net.peer.name"])?.attributes[
        "net.peer.name"
    ];
    const creates = provider.filter(
        s => s.attributes["net.peer.name"] === peer && s.attributes["rpc.method"] === "Create",
    );
    return creates.length ? Math.max(...creates.map(s => s.end)) / 1000 : undefined;
}

async function timed(bed: Testbed, dir: string, stack: string, label: string, args: string[], trace: string) {
    const result = await bed.project.cli(`${label}`, [
        ...args,
        "--non-interactive",
        "--stack",
        stack,
        "--otel-traces",
        `file://${trace}`,
    ]);
    if (result.code !== 0) {
        throw new Error(`${label} failed:\n${result.output}`);
    }
    return result.seconds;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * A stack of nothing but an output, in JavaScript: the engine's floor on this machine and CLI. With `sdk`, the
 * program also loads @pulumi/pulumi, as every program that registers a resource does: the SDK's own floor.
 */
function trivialStack(name: string, sdk: boolean): ScratchProject {
    const project = makeScratchProject(name, `${sdk ? 'require("@pulumi/pulumi");\n' : ""}exports.answer = 42;\n`);
    project.pulumi(["up", "--yes", "--skip-preview"]);
    return project;
}

/** Seconds a CLI command of a scratch project takes. */
function timedCli(project: ScratchProject, args: string[]): number {
    const started = Date.now();
    project.pulumi(args);
    return (Date.now() - started) / 1000;
}

export async function main() {
    const why = whyNotRunnable();
    if (why) {
        throw new Error(`the real node cannot run here: ${why}`);
    }
    const bed = await startTestbed("bench-up");
    const traces = path.join(bed.work, "traces");
    fs.mkdirSync(traces);
    const floors: ScratchProject[] = [];
    try {
        // The engine's floor: a trivial JavaScript stack, run by the same CLI from its own folder; and the SDK's.
        const trivial = trivialStack("trivial", false);
        floors.push(trivial);
        const trivialSdk = trivialStack("trivial-sdk", true);
        floors.push(trivialSdk);

        const stack = "bench";
        run("pulumi", ["stack", "init", stack, "--secrets-provider", "passphrase", "--non-interactive"], {
            cwd: bed.project.dir,
            env: bed.project.env,
        });
        bed.writeStackConfig(stack, [
            `image: ${imageReference("registry-3")}`,
            "pushTool: skopeo",
            "pushImages:",
            `  - docker-archive:${path.join(imagesDir, "e2e-hello.tar")}=hello:v1`,
        ]);
        let readyAt: number | undefined;
        let watching = true;
        const started = Date.now();
        const watcher = (async () => {
            while (watching && readyAt === undefined) {
                if (await readyPod(bed.cluster.api, "examples", registryPods).catch(() => 0)) {
                    readyAt = Date.now();
                }
                await new Promise(r => setTimeout(r, 100));
            }
        })();
        const first = await timed(
            bed,
            bed.project.dir,
            stack,
            "first-up",
            ["up", "--yes", "--skip-preview"],
            path.join(traces, "first.json"),
        );
        watching = false;
        await watcher;
        const firstSpans = readSpans(path.join(traces, "first.json"));

        const samples: Record<string, number[]> = {
            "trivial JavaScript stack, no-change up": [],
            "trivial JavaScript stack, preview": [],
            "trivial JavaScript stack loading @pulumi/pulumi, no-change up": [],
            "this program, no-change up": [],
            "this program, preview": [],
        };
        let lastTrace = "";
        for (let i = 0; i < runs; i++) {
            samples["trivial JavaScript stack, no-change up"].push(
                timedCli(trivial, ["up", "--yes", "--skip-preview"]),
            );
            samples["trivial JavaScript stack, preview"].push(timedCli(trivial, ["preview"]));
            samples["trivial JavaScript stack loading @pulumi/pulumi, no-change up"].push(
                timedCli(trivialSdk, ["up", "--yes", "--skip-preview"]),
            );
            lastTrace = path.join(traces, `up-${i}.json`);
            samples["this program, no-change up"].push(
                await timed(
                    bed,
                    bed.project.dir,
                    stack,
                    `up-${i}`,
                    ["up", "--yes", "--skip-preview", "--expect-no-changes"],
                    lastTrace,
                ),
            );
            samples["this program, preview"].push(
                await timed(
                    bed,
                    bed.project.dir,
                    stack,
                    `preview-${i}`,
                    ["preview", "--expect-no-changes"],
                    path.join(traces, `preview-${i}.json`),
                ),
            );
        }
        const medians = Object.fromEntries(Object.entries(samples).map(([k, xs]) => [k, median(xs)]));
        console.log(`pulumi up on the real node, ${runs} runs each, medians (s):`);
        for (const [k, v] of Object.entries(medians)) {
            console.log(`  ${k}: ${v.toFixed(2)}  (${samples[k].map(x => x.toFixed(2)).join(", ")})`);
        }
        const upRatio = medians["this program, no-change up"] / medians["trivial JavaScript stack, no-change up"];
        const previewRatio = medians["this program, preview"] / medians["trivial JavaScript stack, preview"];
        const sdkRatio =
            medians["this program, no-change up"] /
            medians["trivial JavaScript stack loading @pulumi/pulumi, no-change up"];
        console.log(
            `  no-change up / trivial: ${upRatio.toFixed(2)}; preview / trivial: ${previewRatio.toFixed(2)}; ` +
                `no-change up / trivial loading the SDK: ${sdkRatio.toFixed(2)}`,
        );
        console.log("where the last no-change up spent its time (s):");
        for (const [k, v] of Object.entries(breakdown(readSpans(lastTrace)))) {
            console.log(`  ${k}: ${v}`);
        }
        const ready = readyAt === undefined ? undefined : (readyAt - started) / 1000;
        const checked = checksPassedAt(firstSpans);
        console.log(
            `the first up: ${first.toFixed(2)} s; the registry pod Ready at ${ready?.toFixed(2) ?? "not seen"} s; ` +
                `the checks passed at ${checked?.toFixed(2) ?? "not seen"} s` +
                (ready !== undefined && checked !== undefined
                    ? `: ${(checked - ready).toFixed(2)} s from Ready to the checks passed`
                    : ""),
        );
        for (const [k, v] of Object.entries(breakdown(firstSpans))) {
            console.log(`  ${k}: ${v}`);
        }
        return { medians, upRatio, previewRatio };
    } finally {
        floors.forEach(p => p.remove());
        await bed.stop();
        removeWork(bed.work);
    }
}

if (require.main === module) {
    main().catch(e => {
        console.error(e);
        process.exit(1);
    });
}
