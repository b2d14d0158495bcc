"use strict";
// The build: `tsc -p tsconfig.build.json` (type-checked) compiles index.ts and components/ into an output folder,
// then each scripts folder and the dynamic-provider host are copied beside the compiled modules, and the checks' dynamic providers are serialized
// once (components/verification/providerText.ts says why). `npm run build` builds the package into bin/;
// runCompiled.js builds the program the same way before a `pulumi up` whose sources changed. Plain JavaScript: it runs
// before anything is compiled.
const childProcess = require("child_process");
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");

const root = path.join(__dirname, "..", "..");

/** Every file the build reads from the project, in a stable order. */
function sourceFiles() {
    const walk = rel =>
        fs
            .readdirSync(path.join(root, rel), { withFileTypes: true })
            .sort((a, b) => (a.name < b.name ? -1 : 1))
            .flatMap(e => (e.isDirectory() ? walk(path.join(rel, e.name)) : [path.join(rel, e.name)]));
    return ["index.ts", "package.json", "tsconfig.json", "tsconfig.build.json", ...walk("components")];
}

/** The hash of the sources, their names and bytes: what names a build of them. */
function sourcesHash() {
    const hash = crypto.createHash("sha256");
    for (const file of sourceFiles()) {
        hash.update(file)
            .update("\0")
            .update(fs.readFileSync(path.join(root, file)))
            .update("\0");
    }
    return hash.digest("hex");
}

/**
 * The plain JavaScript and shell the build copies beside the compiled modules, as paths under components/: each scripts
 * folder (what the resources run), and the dynamic-provider host with the module it preloads (which a consumer's
 * Pulumi.yaml may name: docs/reuse.md).
 */
function shippedAsTheyAre() {
    const scripts = fs
        .readdirSync(path.join(root, "components"), { recursive: true })
        .filter(dir => path.basename(dir) === "scripts");
    return [...scripts, path.join("program", "dynamicProviderHost"), path.join("program", "loadOnUse.js")];
}

/** Compiles into `outDir`, copies the scripts, serializes the providers; false when a step failed (it said why on stderr). */
function build(outDir) {
    fs.rmSync(path.join(outDir, "components"), { recursive: true, force: true });
    const tsc = require.resolve("typescript/bin/tsc", { paths: [root] });
    const compiled = childProcess.spawnSync(
        process.execPath,
        [tsc, "-p", path.join(root, "tsconfig.build.json"), "--outDir", outDir],
        { cwd: root, stdio: ["ignore", 2, 2] },
    );
    if (compiled.status !== 0) {
        return false;
    }
    for (const copied of shippedAsTheyAre()) {
        fs.cpSync(path.join(root, "components", copied), path.join(outDir, "components", copied), { recursive: true });
    }
    const serialized = childProcess.spawnSync(
        process.execPath,
        [path.join(outDir, "components", "verification", "writeSerializedProviders.js")],
        { cwd: root, stdio: ["ignore", 2, 2] },
    );
    return serialized.status === 0;
}

module.exports = { build, shippedAsTheyAre, sourcesHash, root };

if (require.main === module && !build(path.join(root, "bin"))) {
    process.exitCode = 1;
}
