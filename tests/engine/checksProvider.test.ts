import * as fs from "fs";
import * as path from "path";
import { itWhen } from "../support/requirements";
import { makeScratchProject } from "./pulumiProject";
import { toolsBin } from "./realNode";

/*
 * The checks moved from the engine's default instance of the dynamic-provider host to one of their own
 * (components/verification/index.ts). A stack made before keeps its checks in state under the default one; a
 * TagsCheck that deleteRemovedImages set deletes the images it checked when it is deleted, so the move must be no
 * change to them: not a replace, no delete. This asks the real engine, with a dynamic resource of the same shape
 * whose delete leaves a mark, in a stack of its own (no cluster).
 */

const missing = ["pulumi", "pulumi-language-nodejs"].filter(t => !fs.existsSync(path.join(toolsBin, t)));

const program = `
const fs = require("fs");
const pulumi = require("@pulumi/pulumi");
class DynamicProviderHost extends pulumi.ProviderResource {
    constructor(name, opts) { super("pulumi-nodejs", name, {}, opts); }
}
const marks = process.env.MARKS;
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
            const project = makeScratchProject("checks-host", program);
            try {
                const marks = path.join(project.dir, "deletes");
                const pulumi = (ownHost: boolean, ...args: string[]) =>
                    project.pulumi(args, { OWN_HOST: ownHost ? "1" : "0", MARKS: marks });
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
                project.remove();
            }
        },
        300000,
    );
});
