import * as childProcess from "child_process";
import * as path from "path";

/**
 * Time to construct the whole program under mocks (config -> component -> every child registered), in a
 * fresh process each run, as `pulumi preview` would start it. Module loading is included and reported apart.
 */
const runs = Number(process.env.BENCH_RUNS ?? 3);

export async function main(): Promise<void> {
    console.log(`Program construction under mocks: ${runs} fresh processes`);
    const script = path.join(__dirname, "constructProgram.ts");
    const figures: Array<{ load: number; construct: number }> = [];
    for (let i = 0; i < runs; i++) {
        const r = childProcess.spawnSync("npx", ["ts-node", "--transpile-only", script], {
            encoding: "utf8",
            cwd: path.join(__dirname, ".."),
        });
        if (r.status !== 0) {
            throw new Error(`constructProgram failed: ${r.stderr}`);
        }
        figures.push(JSON.parse(r.stdout.trim().split("\n").pop()!));
    }
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    console.log(`  module load (median):                  ${median(figures.map(f => f.load)).toFixed(0)} ms`);
    console.log(
        `  construct until all registered (median): ${median(figures.map(f => f.construct)).toFixed(0)} ms (${figures.map(f => f.construct.toFixed(0)).join(", ")})`,
    );
}

if (require.main === module) {
    main().catch(e => {
        console.error(e);
        process.exit(1);
    });
}
