"use strict";
// Makes Docker trust the registry, and undoes exactly that:
//   insecure: adds the registry to "insecure-registries" in daemon.json (as the seed does);
//   ca:       writes the registry's CA to <certsDir>/<registry>/ca.crt (Docker's way for self-signed certificates, no restart).
// daemon.json is edited as text, so every byte that is not ours (keys, order, spacing) stays as it was.
// Inputs from the environment: DR_TRUST_MODE, DR_REGISTRY (host or host:port), DR_DAEMON_CONFIG, DR_CERTS_DIR,
// DR_CA_CERTIFICATE, DR_RESTART_COMMAND (JSON argv), DR_SUDO; PULUMI_COMMAND_STDOUT holds what create did.
// Usage: node dockerTrust.js add|remove
const childProcess = require("child_process");
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");
const { report } = require("./report");
const { editFile, privileged, readOrNull, realFile, withLock } = require("./lockedFile");

const insecureKey = "insecure-registries";

// --- daemon.json as text -------------------------------------------------------------------------

/** Positions of the JSON values in text (already known to be valid JSON): enough to insert and cut items by hand. */
function scan(text) {
    let i = 0;
    const ws = () => { while (i < text.length && /\s/.test(text[i])) i++; };
    const string = () => {
        const start = i++;
        while (text[i] !== "\"") i += text[i] === "\\" ? 2 : 1;
        i++;
        return { type: "string", start, end: i, value: JSON.parse(text.slice(start, i)) };
    };
    const value = () => {
        ws();
        const start = i;
        if (text[i] === "{" || text[i] === "[") {
            const isObject = text[i] === "{";
            const items = [];
            i++;
            ws();
            while (text[i] !== (isObject ? "}" : "]")) {
                if (isObject) {
                    const key = string();
                    ws();
                    i++; // ':'
                    const v = value();
                    items.push({ start: key.start, end: v.end, key: key.value, value: v });
                } else {
                    const v = value();
                    items.push({ start: v.start, end: v.end, value: v });
                }
                ws();
                if (text[i] === ",") {
                    i++;
                    ws();
                }
            }
            i++;
            return { type: isObject ? "object" : "array", start, end: i, items };
        }
        if (text[i] === "\"") {
            return string();
        }
        const literal = /-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null/y;
        literal.lastIndex = i;
        const m = literal.exec(text);
        i += m[0].length;
        return { type: "literal", start, end: i };
    };
    return value();
}

/** Index of the comma after position `from` (only white space between). */
function commaAfter(text, from) {
    let i = from;
    while (/\s/.test(text[i])) i++;
    return text[i] === "," ? i : -1;
}

/**
 * Cuts item `index` out of a scanned container with its separator: the one after it, or for the last item
 * the one before it. Inverse of how addInsecureRegistry inserts, so add then remove gives the same bytes.
 */
function cutItem(text, container, index) {
    const items = container.items;
    const item = items[index];
    if (items.length === 1) {
        return text.slice(0, container.start + 1) + text.slice(item.end);
    }
    if (index < items.length - 1) {
        const from = index === 0 ? container.start + 1 : commaAfter(text, items[index - 1].end) + 1;
        return text.slice(0, from) + text.slice(commaAfter(text, item.end) + 1);
    }
    return text.slice(0, commaAfter(text, items[index - 1].end)) + text.slice(item.end);
}

function parseDaemonConfig(text, file) {
    let parsed;
    try {
        parsed = JSON.parse(text);
    } catch (e) {
        throw new Error(`${file} is not valid JSON (${e.message}); it was left untouched. Fix it (Docker will not start with it either) and run again`);
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
        throw new Error(`${file} is not a JSON object; it was left untouched. Fix it and run again`);
    }
    if (parsed[insecureKey] !== undefined && !Array.isArray(parsed[insecureKey])) {
        throw new Error(`"${insecureKey}" in ${file} is not a list; it was left untouched. Make it a list of registries and run again`);
    }
    return scan(text);
}

/** Adds registry to insecure-registries. Returns the new text and what was added ("key", "element" or nothing). */
function addInsecureRegistry(text, registry, file) {
    const root = parseDaemonConfig(text, file);
    const member = root.items.find(m => m.key === insecureKey);
    const quoted = JSON.stringify(registry);
    if (!member) {
        const insertion = `\n  ${JSON.stringify(insecureKey)}: [${quoted}]${root.items.length > 0 ? "," : ""}`;
        return { text: text.slice(0, root.start + 1) + insertion + text.slice(root.start + 1), added: "key" };
    }
    const list = member.value;
    if (list.items.some(e => e.value.value === registry)) {
        return { text, added: null };
    }
    if (list.items.length === 0) {
        return { text: text.slice(0, list.start + 1) + quoted + text.slice(list.start + 1), added: "element" };
    }
    const last = list.items[list.items.length - 1];
    return { text: `${text.slice(0, last.end)}, ${quoted}${text.slice(last.end)}`, added: "element" };
}

/** Removes what addInsecureRegistry added: the whole key when it added the key and nothing else joined the list. */
function removeInsecureRegistry(text, registry, added, file) {
    const root = parseDaemonConfig(text, file);
    const memberIndex = root.items.findIndex(m => m.key === insecureKey);
    if (memberIndex < 0) {
        return text;
    }
    const list = root.items[memberIndex].value;
    const elementIndex = list.items.findIndex(e => e.value.value === registry);
    if (elementIndex < 0) {
        return text;
    }
    if (added === "key" && list.items.length === 1) {
        return cutItem(text, root, memberIndex);
    }
    return cutItem(text, list, elementIndex);
}

// --- the two modes -------------------------------------------------------------------------------

function restartDocker(restartCommand) {
    if (!restartCommand || restartCommand.length === 0) {
        process.stderr.write("docker trust: daemon.json changed; restart the Docker daemon for it to take effect " +
            "(or set dockerRestartCommand, e.g. [\"sudo\",\"systemctl\",\"restart\",\"docker\"])\n");
        return false;
    }
    const result = childProcess.spawnSync(restartCommand[0], restartCommand.slice(1), { stdio: ["ignore", 2, 2] });
    if (result.status !== 0) {
        throw new Error(`the restart command ${JSON.stringify(restartCommand)} failed (${result.error ? result.error.message : `exit ${result.status}`})`);
    }
    return true;
}

function addInsecure(o) {
    const file = o.daemonConfig;
    if (!fs.existsSync(path.dirname(file))) {
        throw new Error(`the directory of ${file} does not exist: is Docker installed? Set dockerDaemonConfig to its daemon.json, or dockerTrust to "none"`);
    }
    const previous = o.previous || {};
    const done = editFile(file, current => {
        if (current === null) {
            return { text: `{\n  ${JSON.stringify(insecureKey)}: [${JSON.stringify(o.registry)}]\n}\n`, result: { added: "key", createdFile: true } };
        }
        const { text, added } = addInsecureRegistry(current, o.registry, file);
        return { text, result: { added, createdFile: false } };
    }, o.sudo);
    // A rerun (update) finds the entry already there: it is still ours if the previous run added it.
    const result = {
        mode: "insecure", file, registry: o.registry,
        added: done.added || (previous.mode === "insecure" && previous.registry === o.registry ? previous.added : null),
        createdFile: done.createdFile || (previous.createdFile === true && previous.file === file),
    };
    if (done.added) {
        try {
            result.restarted = restartDocker(o.restartCommand);
        } catch (e) {
            removeInsecure(o, result, false);
            throw new Error(`${e.message}; daemon.json was put back as it was`);
        }
    }
    return result;
}

function removeInsecure(o, created, restart = true) {
    const file = created.file || o.daemonConfig;
    if (!created.added) {
        return { removed: false };
    }
    editFile(file, current => {
        if (current === null) {
            return { text: null, result: null };
        }
        const text = removeInsecureRegistry(current, created.registry || o.registry, created.added, file);
        return { text, result: null };
    }, o.sudo);
    if (created.createdFile) {
        // Remove the file we created only if nothing but an empty object is left in it.
        withLock(realFile(file), () => {
            const left = readOrNull(file);
            if (left !== null && left.replace(/\s/g, "") === "{}") {
                privileged("removeFile", file, "", o.sudo);
            }
        });
    }
    if (restart) {
        restartDocker(o.restartCommand);
    }
    return { removed: true };
}

function checkCertificate(pem) {
    try {
        new crypto.X509Certificate(pem);
    } catch (e) {
        throw new Error(`the CA certificate (dockerCaFile) is not a PEM certificate (${e.message}); nothing was changed`);
    }
}

function addCa(o) {
    checkCertificate(o.caCertificate);
    if (!fs.existsSync(path.dirname(o.certsDir))) {
        throw new Error(`the directory of ${o.certsDir} does not exist: is Docker installed? Set dockerCertsDir, or dockerTrust to "none"`);
    }
    const registryDir = path.join(o.certsDir, o.registry);
    const file = path.join(registryDir, "ca.crt");
    const createdDirs = [];
    for (const dir of [o.certsDir, registryDir]) {
        if (!fs.existsSync(dir)) {
            privileged("makeDirectory", dir, "", o.sudo);
            createdDirs.push(dir);
        }
    }
    const previous = o.previous || {};
    // An update with a new CA rewrites our own file; someone else's is never overwritten.
    const ours = previous.mode === "ca" && previous.file === file && previous.added === true;
    const added = editFile(file, current => {
        if (current !== null && current !== o.caCertificate && !ours) {
            throw new Error(`${file} already holds another certificate; remove it or set dockerTrust to "none". Nothing was changed`);
        }
        return { text: o.caCertificate, result: current === null };
    }, o.sudo);
    return {
        mode: "ca", file, registry: o.registry,
        added: added || ours,
        createdDirs: ours ? previous.createdDirs : createdDirs,
    };
}

function removeCa(o, created) {
    if (!created.added) {
        return { removed: false };
    }
    withLock(realFile(created.file), () => privileged("removeFile", created.file, "", o.sudo));
    for (const dir of [...(created.createdDirs || [])].reverse()) {
        privileged("removeEmptyDirectory", dir, "", o.sudo);
    }
    return { removed: true };
}

// --- entry point ---------------------------------------------------------------------------------

function inputs() {
    const env = process.env;
    let previous = null;
    try {
        previous = env.PULUMI_COMMAND_STDOUT ? JSON.parse(env.PULUMI_COMMAND_STDOUT) : null;
    } catch (_) { /* not ours: treat as nothing recorded */ }
    let restartCommand = [];
    if (env.DR_RESTART_COMMAND) {
        restartCommand = JSON.parse(env.DR_RESTART_COMMAND);
        if (!Array.isArray(restartCommand) || !restartCommand.every(a => typeof a === "string")) {
            throw new Error("the restart command must be a list of strings (argv), e.g. [\"sudo\",\"systemctl\",\"restart\",\"docker\"]");
        }
    }
    if (!env.DR_REGISTRY || /[\s/]/.test(env.DR_REGISTRY)) {
        throw new Error(`registry "${env.DR_REGISTRY || ""}" must be a host or host:port`);
    }
    return {
        mode: env.DR_TRUST_MODE,
        registry: env.DR_REGISTRY,
        daemonConfig: env.DR_DAEMON_CONFIG,
        certsDir: env.DR_CERTS_DIR,
        caCertificate: env.DR_CA_CERTIFICATE || "",
        restartCommand,
        sudo: env.DR_SUDO || "auto",
        previous,
    };
}

function main(action) {
    const o = inputs();
    if (o.mode !== "insecure" && o.mode !== "ca") {
        throw new Error(`trust mode "${o.mode}" is not "insecure" or "ca"`);
    }
    if (action === "add") {
        return o.mode === "insecure" ? addInsecure(o) : addCa(o);
    }
    if (action === "remove") {
        const created = o.previous || {};
        return created.mode === "ca" ? removeCa(o, created) : removeInsecure(o, created);
    }
    throw new Error(`unknown action "${action}": use add or remove`);
}

function run(action) {
    report("docker trust", () => main(action));
}

module.exports = { main, run, addInsecureRegistry, removeInsecureRegistry };
if (require.main === module) {
    run(process.argv[2]);
}
