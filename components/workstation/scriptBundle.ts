import * as fs from "fs";
import * as path from "path";

/** Folder of the workstation scripts: plain CommonJS files that the tests also run directly. */
export const scriptsDirectory = path.join(__dirname, "scripts");

/**
 * The text of a Command that runs `run(action)` of a script, with the script's local modules inlined.
 * The Command keeps this text in its state, so `pulumi destroy` runs the same code that created the
 * change even if the project has moved or changed since. No value of the user's is in it: those come
 * through the Command's environment and stdin.
 */
export function bundleScript(scriptFile: string, action: string): string {
    const modules = new Map<string, string>();
    collect(path.basename(scriptFile, ".js"), modules);
    const definitions = [...modules]
        .map(([name, source]) => `${JSON.stringify(`./${name}`)}: function (module, exports, require) {\n${source}\n}`)
        .join(",\n");
    return [
        '"use strict";',
        `const definitions = {\n${definitions}\n};`,
        "const cache = {};",
        "function load(name) {",
        "  if (!definitions[name]) { return require(name); }",
        "  if (!cache[name]) { const module = { exports: {} }; cache[name] = module; definitions[name](module, module.exports, load); }",
        "  return cache[name].exports;",
        "}",
        `load(${JSON.stringify(`./${path.basename(scriptFile, ".js")}`)}).run(${JSON.stringify(action)});`,
        "",
    ].join("\n");
}

function collect(name: string, modules: Map<string, string>): void {
    if (modules.has(name)) {
        return;
    }
    const source = fs.readFileSync(path.join(scriptsDirectory, `${name}.js`), "utf8");
    modules.set(name, source);
    for (const match of source.matchAll(/require\("\.\/([A-Za-z0-9_-]+)"\)/g)) {
        collect(match[1], modules);
    }
}
