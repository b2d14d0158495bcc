import * as fs from "fs";
import * as path from "path";
import { itWhen } from "../support/requirements";
import { makeScratchProject, ScratchProject } from "./pulumiProject";
import { toolsBin } from "./realNode";

/*
 * Pulumi.yaml's `plugins` block has the engine start this project's dynamic providers (the checks) in
 * components/program/dynamicProviderHost instead of the CLI's own host: the same host with the SDK's TypeScript
 * compiler loaded on first use, so every `pulumi up` and preview waits less for it. This asks the real engine, in a
 * stack of its own (no cluster), with a dynamic resource that reports which process served it and whether the
 * TypeScript compiler was loaded there: create, update, no change and delete all go through the project's host; the
 * same program without the block gets the CLI's (the control: the probe does see TypeScript loaded).
 */

const repo = path.join(__dirname, "..", "..");
const missing = ["pulumi", "pulumi-language-nodejs"].filter(t => !fs.existsSync(path.join(toolsBin, t)));

const program = `
const pulumi = require("@pulumi/pulumi");
const deletes = process.env.DELETES;
const served = () => ({
    host: process.argv[1],
    typescriptLoaded: Object.keys(require("module")._cache).some(f => /[\\\\/]typescript[\\\\/]lib[\\\\/]typescript\\.js$/.test(f)),
});
const provider = {
    async create(inputs) { return { id: "probe", outs: { ...inputs, ...served() } }; },
    async diff(_id, olds, news) { return { changes: olds.generation !== news.generation }; },
    async update(_id, _olds, news) { return { outs: { ...news, ...served() } }; },
    async delete() { require("fs").appendFileSync(deletes, process.argv[1] + "\\n"); },
};
const probe = new pulumi.dynamic.Resource(
    provider,
    "probe",
    { generation: Number(process.env.GENERATION), host: undefined, typescriptLoaded: undefined },
    {},
    "registry",
    "HostProbe",
);
exports.host = probe.host;
exports.typescriptLoaded = probe.typescriptLoaded;
`;

/** The repository's `plugins` block as it is written, its path made absolute for a project elsewhere. */
function repositoryPluginsBlock(): { block: string; hostDir: string } {
    const text = fs.readFileSync(path.join(repo, "Pulumi.yaml"), "utf8");
    const block = /^plugins:\n(?:[ #].*\n)*/m.exec(text)?.[0] ?? "";
    const relative = /^ {6}path: (\S+)$/m.exec(block)?.[1];
    expect(block).toMatch(/^ {4}- name: pulumi-nodejs$/m);
    expect(relative).toBeTruthy();
    const hostDir = path.resolve(repo, relative!);
    return { block: block.replace(relative!, hostDir), hostDir };
}

describe("the project's dynamic-provider host (Pulumi.yaml's plugins block)", () => {
    itWhen(missing.length === 0, `tools not built (run tests/engine/build-tools.sh): ${missing.join(", ")}`)(
        "serves the checks' create, update, no change and delete without loading TypeScript; the CLI's own loads it",
        () => {
            const { block, hostDir } = repositoryPluginsBlock();
            const projects: ScratchProject[] = [];
            try {
                const own = makeScratchProject("own-host", program, block);
                projects.push(own);
                const deletes = path.join(own.dir, "deletes");
                const up = (project: ScratchProject, generation: number, ...more: string[]) => {
                    project.pulumi(["up", "--yes", "--skip-preview", ...more], {
                        GENERATION: String(generation),
                        DELETES: deletes,
                    });
                    return JSON.parse(project.pulumi(["stack", "output", "--json"]));
                };
                const ourHost = path.join(hostDir, "pulumi-resource-pulumi-nodejs");
                expect(up(own, 1)).toEqual({ host: ourHost, typescriptLoaded: false });
                expect(up(own, 2)).toEqual({ host: ourHost, typescriptLoaded: false });
                up(own, 2, "--expect-no-changes");
                own.pulumi(["destroy", "--yes", "--skip-preview"], { GENERATION: "2", DELETES: deletes });
                expect(fs.readFileSync(deletes, "utf8")).toBe(`${ourHost}\n`);

                // The control: the CLI's own host, found on PATH, is another process and has TypeScript loaded.
                const stock = makeScratchProject("stock-host", program);
                projects.push(stock);
                const served = up(stock, 1);
                expect(served.host).toMatch(/[/]@pulumi[/]pulumi[/]cmd[/]dynamic-provider[/]index\.js$/);
                expect(served.typescriptLoaded).toBe(true);
            } finally {
                projects.forEach(p => p.remove());
            }
        },
        300000,
    );
});
