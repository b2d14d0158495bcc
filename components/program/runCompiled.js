"use strict";
// Loaded by node before the program (Pulumi.yaml: runtime.options.nodeargs), so that `pulumi up` runs index.ts as the
// JavaScript the build compiled from it: no TypeScript compiler is loaded, and nothing is type-checked again, on a run
// whose sources did not change (that was most of a no-change `pulumi up`). When they changed, it builds first,
// type-checking as before: a type error stops the run with tsc's own message. Plain JavaScript.
//
// Each state of the sources compiles into a folder of its own, bin/program-<hash of the sources>, made whole in a
// private folder and then renamed into place: two runs that build at once each get a complete folder or the other's,
// never half of one, and no lock is needed.
const fs = require("fs");

const path = require("path");
const { build, sourcesHash, root } = require("./build");
const { loadPulumiSerializerOnUse } = require("./loadOnUse");

const builds = path.join(root, "bin");

function compiledProgram() {
    const folder = path.join(builds, `program-${sourcesHash().slice(0, 16)}`);
    if (fs.existsSync(folder)) {
        return folder;
    }
    fs.mkdirSync(builds, { recursive: true });
    const building = fs.mkdtempSync(path.join(builds, ".building-"));
    process.stderr.write("the program's sources changed since they were last compiled: compiling them (tsc)...\n");
    if (!build(building)) {
        fs.rmSync(building, { recursive: true, force: true });
        process.stderr.write(
            "error: the program does not build: the errors are above (tsc's, or the build step's). Fix them, then run it again.\n",
        );
        process.exit(1);
    }
    try {
        fs.renameSync(building, folder);
    } catch (e) {
        // Another run put the same build there first.
        fs.rmSync(building, { recursive: true, force: true });
        if (!fs.existsSync(folder)) {
            throw e;
        }
    }
    // Builds of earlier sources, and folders of builds that died, go once they are an hour old.
    for (const old of fs.readdirSync(builds)) {
        const full = path.join(builds, old);
        if (/^(program-[0-9a-f]{16}|\.building-.*)$/.test(old) && full !== folder) {
            if (Date.now() - fs.statSync(full).mtimeMs > 3600 * 1000) {
                fs.rmSync(full, { recursive: true, force: true });
            }
        }
    }
    return folder;
}

const compiled = compiledProgram();
// A TypeScript module of the program is its compiled JavaScript, at the same relative path.
require.extensions[".ts"] = (module, filename) => {
    module.exports = require(path.join(compiled, path.relative(root, filename)).replace(/\.ts$/, ".js"));
};

loadPulumiSerializerOnUse(root);
