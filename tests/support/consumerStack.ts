import * as childProcess from "child_process";
import * as fs from "fs";
import * as path from "path";

const repo = path.join(__dirname, "..", "..");

/**
 * A copy of tests/consumer (another stack that reuses the component) in `dir`, with the packed `tarball`
 * installed as a user would: npm install of the tarball, scripts off, against a copy of this project's lock so
 * that the versions are the pinned ones and npm can work from its cache.
 */
export function installConsumerStack(dir: string, tarball: string): void {
    fs.cpSync(path.join(repo, "tests", "consumer"), dir, { recursive: true });
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
    const lock = JSON.parse(fs.readFileSync(path.join(repo, "package-lock.json"), "utf8"));
    lock.name = manifest.name;
    lock.packages[""] = {
        name: manifest.name,
        version: manifest.version,
        dependencies: manifest.dependencies,
        devDependencies: manifest.devDependencies,
    };
    fs.writeFileSync(path.join(dir, "package-lock.json"), JSON.stringify(lock, null, 2));
    const r = childProcess.spawnSync(
        "npm",
        ["install", "--prefer-offline", "--ignore-scripts", "--no-audit", "--no-fund", tarball],
        { cwd: dir, encoding: "utf8" },
    );
    if (r.status !== 0) {
        throw new Error(`npm install ${tarball} failed (${r.status}): ${r.stderr}${r.stdout}`);
    }
}
