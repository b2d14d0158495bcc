import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { itWhen } from "../support/requirements";
import { writeDynamicProviderShim } from "./pulumiProject";
import { run, toolsBin } from "./realNode";

/*
 * The checks moved from the engine's default instance of the dynamic-provider host to one of their own
 * (components/verification/index.ts). A stack made before keeps its checks in state under the default one; a
 * TagsCheck that deleteRemovedImages set deletes the images it checked when it is deleted, so the move must be no
 * change to them: not a replace, no delete. This asks the real engine, with a dynamic resource of the same shape
 * whose delete leaves a mark, in a stack of its own (no cluster).
 */

const repo = path.join(__dirname, "..", "..");
const missing = ["pulumi", "pulumi-language-nodejs"].filter(t => !fs.existsSync(path.join(toolsBin, t)));

const program = `
const fs = require("fs");
const pulumi = require("@pulumi/pulumi");
class DynamicProviderHost extends pulumi.ProviderResource {
    constructor(name, opts) { super("pulumi-nodejs", name, {}, opts); }
}
const marks = ${JSON.stringify("MARKS")};
const provider = {
    async create(inputs) { return { id: "check", outs: inputs }; },
    async diff(_id, olds, news) { return { changes: olds.tags.join() !== news.tags.join() }; },
    async delete() { fs.appendFileSync(marks, "deleted\\n"); },
};
const opts = process.env.OWN_HOST === "1" ? { provider: new DynamicProviderHost("registry-checks") } : {};
new pulumi.dynamic.Resource(provider, "registry-tags-hello", { tags: ["v1"] }, opts, "registry", "TagsCheck");
`;

describe("moving the checks to their own dynamic-provider host", () => {
    itWhen(missing.length === 0, `tools not built (run tests/engine/build-tools.sh): ${missing.join(", ")}`)(
        "is no change to a check made on the default one: not replaced, not deleted; and back again",
        () => {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dr-checks-host-"));
            try {
                const marks = path.join(dir, "deletes");
                fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: checks-host\nruntime: nodejs\n");
                fs.writeFileSync(
                    path.join(dir, "package.json"),
                    JSON.stringify({ name: "checks-host", main: "index.js" }),
                );
                fs.writeFileSync(path.join(dir, "index.js"), program.replace('"MARKS"', JSON.stringify(marks)));
                fs.symlinkSync(path.join(repo, "node_modules"), path.join(dir, "node_modules"));
                const bin = path.join(dir, "bin");
                fs.mkdirSync(bin);
                writeDynamicProviderShim(bin);
                const env = (ownHost: boolean): NodeJS.ProcessEnv => ({
                    PATH: `${bin}:${toolsBin}:${process.env.PATH}`,
                    HOME: dir,
                    PULUMI_HOME: path.join(dir, "pulumi-home"),
                    PULUMI_BACKEND_URL: `file://${path.join(dir, "state")}`,
                    PULUMI_CONFIG_PASSPHRASE: "checks host",
                    PULUMI_SKIP_UPDATE_CHECK: "true",
                    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
                    OWN_HOST: ownHost ? "1" : "0",
                });
                fs.mkdirSync(path.join(dir, "state"));
                const pulumi = (ownHost: boolean, ...args: string[]) =>
                    run("pulumi", [...args, "--non-interactive", "--stack", "dev"], { cwd: dir, env: env(ownHost) });
                run("pulumi", ["stack", "init", "dev", "--non-interactive"], { cwd: dir, env: env(false) });
                pulumi(false, "up", "--yes", "--skip-preview");

                // What a `pulumi up` of the new version does to a stack of the old: the host is created, the check kept.
                const plan = JSON.parse(pulumi(true, "preview", "--json"));
                // (The JSON's steps leave out a "same" whose provider moved; its summary counts it.)
                expect(plan.changeSummary).toEqual({ create: 1, same: 2 });
                pulumi(true, "up", "--yes", "--skip-preview");
                const check = JSON.parse(pulumi(true, "stack", "export")).deployment.resources.find(
                    (r: any) => r.type === "pulumi-nodejs:dynamic/registry:TagsCheck",
                );
                expect(check.provider).toMatch(/::pulumi:providers:pulumi-nodejs::registry-checks::/);
                pulumi(true, "up", "--yes", "--skip-preview", "--expect-no-changes");
                // Back to the default instance (a downgrade): again no change to the check.
                pulumi(false, "up", "--yes", "--skip-preview");
                expect(fs.existsSync(marks) ? fs.readFileSync(marks, "utf8") : "").toBe("");
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        },
        300000,
    );
});
