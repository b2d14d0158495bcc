import * as fs from "fs";
import * as path from "path";

const repo = path.resolve(__dirname, "..", "..");

/** Copies into `dir` what a user's project of this program holds, sharing the repository's node_modules. */
export function copyProgramSources(dir: string): void {
    for (const f of ["Pulumi.yaml", "package.json", "tsconfig.json", "tsconfig.build.json", "index.ts"]) {
        fs.copyFileSync(path.join(repo, f), path.join(dir, f));
    }
    fs.cpSync(path.join(repo, "components"), path.join(dir, "components"), { recursive: true });
    // Linked, not installed: the copy runs with exactly the dependencies the repository's own tests run with.
    fs.symlinkSync(path.join(repo, "node_modules"), path.join(dir, "node_modules"));
}
