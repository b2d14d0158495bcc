"use strict";
// Loading @pulumi/pulumi loads the TypeScript compiler and npm's Arborist with it, for its closure serializer: about
// 0.3 s of every `pulumi up`, and the program does not serialize anything (the build did, for the checks' providers:
// components/verification/providerText.ts). So, for the program's run only, those two modules are put in node's
// module cache as stand-ins that load the real module the first time anything of it is used, and behave as it from
// then on. A module the SDK does not have where expected is left as it is. Plain JavaScript: preloaded.
const Module = require("module");
const fs = require("fs");
const path = require("path");

/** Makes `file` load on first use; true when it did (false: not there, or already loaded). */
function loadOnUse(file) {
    if (!fs.existsSync(file) || require.cache[file]) {
        return false;
    }
    let real;
    const load = () => {
        if (real === undefined) {
            delete require.cache[file];
            real = require(file);
        }
        return real;
    };
    const standIn = new Module(file, module);
    standIn.filename = file;
    standIn.loaded = true;
    standIn.exports = new Proxy(
        {},
        {
            // `__esModule` lets TypeScript's `import * as` helper take the stand-in as it is, without listing it.
            get: (_, key) => (key === "__esModule" && real === undefined ? true : load()[key]),
            set: (_, key, value) => {
                load()[key] = value;
                return true;
            },
            has: (_, key) => key in load(),
            ownKeys: () => Reflect.ownKeys(load()),
            getOwnPropertyDescriptor: (_, key) => {
                const descriptor = Object.getOwnPropertyDescriptor(load(), key);
                return descriptor && { ...descriptor, configurable: true };
            },
        },
    );
    require.cache[file] = standIn;
    return true;
}

/** The SDK's copies of TypeScript (through its shim) and Arborist, loaded on first use. */
function loadPulumiSerializerOnUse(root) {
    let sdk;
    try {
        sdk = path.dirname(require.resolve("@pulumi/pulumi", { paths: [root] }));
    } catch (e) {
        return [];
    }
    const files = [path.join(sdk, "typescript-shim.js")];
    try {
        files.push(require.resolve("@npmcli/arborist", { paths: [sdk] }));
    } catch (e) {
        // Not where expected: loaded as the SDK loads it.
    }
    return files.filter(loadOnUse);
}

module.exports = { loadOnUse, loadPulumiSerializerOnUse };
