"use strict";
// Makes Docker trust the registry, and undoes exactly that:
//   insecure: adds the registry to "insecure-registries" in daemon.json (as the seed does);
//   ca:       writes the registry's CA to <certsDir>/<registry>/ca.crt (Docker's way for self-signed certificates, no restart).
// daemon.json is edited as text (daemonConfig.js), so every byte that is not ours stays as it was.
// Several stacks may share one daemon.json, and dockerd refuses keys it does not know, so what our stacks
// added is recorded beside it, in ".<name>.distribution-registry.json" (the ledger): which registry each owner
// needs, whether the list, the key or the file was there before. Whichever stack goes last puts the file back,
// in any order of destroys. A ca.crt has a ledger beside it too (its owners, the directories made for it); when
// the last owner of a certificate whose ledger says certs.d was made by ours goes, that claim passes to another
// ledger of ours in certs.d, so whichever of our stacks leaves certs.d last removes it.
// A ledger is followed only if no one else could have written it and it names nothing outside what it governs;
// a broken one stops a create, and a destroy leaves it (and what it governs) alone with a warning.
// Inputs from the environment: DR_TRUST_MODE, DR_REGISTRY (host or host:port),
// DR_DAEMON_CONFIG, DR_CERTS_DIR, DR_CA_CERTIFICATE, DR_RESTART_COMMAND (JSON argv), DR_SUDO, DR_OWNER;
// PULUMI_COMMAND_STDOUT holds what create did.
// Usage: node dockerTrust.js add|remove
const childProcess = require("child_process");
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");
const { report } = require("./report");
const {
    describeFileError,
    editFile,
    privileged,
    readOrNull,
    readRecord,
    realFile,
    saveRecord,
    withLock,
    writeFile,
} = require("./lockedFile");
const { addRegistry, holdsNothing, listedRegistries, parseDaemonConfig, removeRegistry } = require("./daemonConfig");

function warn(message) {
    process.stderr.write(`docker trust: ${message}\n`);
}

// --- the records we keep -------------------------------------------------------------------------

const isObject = x => x !== null && typeof x === "object" && !Array.isArray(x);
const isOwner = x => typeof x === "string" && x !== "" && !/[\r\n]/.test(x);
const isRegistry = x => typeof x === "string" && x !== "" && !/[\s/]/.test(x);

/** The ledger beside daemon.json: what our stacks added to it, by owner. */
function ledgerPath(file) {
    return path.join(path.dirname(file), `.${path.basename(file)}.distribution-registry.json`);
}

/** Why a value is not a daemon.json ledger this project writes, or null. */
function daemonLedgerProblem(x, file) {
    if (!isObject(x)) {
        return "it is not an object";
    }
    if (typeof x.createdFile !== "boolean" || typeof x.createdKey !== "boolean") {
        return "createdFile and createdKey are not both true or false";
    }
    if (x.blank !== null) {
        let blank = false;
        try {
            blank = typeof x.blank === "string" && parseDaemonConfig(x.blank, file).blank;
        } catch (_) {
            /* not blank */
        }
        // What is put back when the last stack goes: only ever a file with no settings.
        if (!blank) {
            return "its recorded blank file is not blank";
        }
    }
    if (!isObject(x.registries)) {
        return "registries is not an object";
    }
    for (const [registry, entry] of Object.entries(x.registries)) {
        if (!isRegistry(registry)) {
            return `${JSON.stringify(registry)} is not a registry`;
        }
        if (
            !isObject(entry) ||
            typeof entry.listedBefore !== "boolean" ||
            !Array.isArray(entry.owners) ||
            !entry.owners.every(isOwner)
        ) {
            return `the entry of ${registry} is not {listedBefore, owners}`;
        }
    }
    return null;
}

/** The record beside a ca.crt our stacks wrote: which owners need it and which directories were made for it. */
function caLedgerPath(file) {
    return path.join(path.dirname(file), `.${path.basename(file)}.distribution-registry.json`);
}

/** The directories a ca.crt's ledger may name: its own directory and certs.d, nothing else. */
function caDirectories(file) {
    return [path.dirname(file), path.dirname(path.dirname(file))].map(d => path.resolve(d));
}

function caLedgerProblem(x, file) {
    if (!isObject(x)) {
        return "it is not an object";
    }
    if (!Array.isArray(x.owners) || !x.owners.every(isOwner)) {
        return "owners is not a list of stacks";
    }
    if (!Array.isArray(x.createdDirs) || !x.createdDirs.every(d => typeof d === "string")) {
        return "createdDirs is not a list of directories";
    }
    const allowed = caDirectories(file);
    const outside = x.createdDirs.find(d => !allowed.includes(path.resolve(d)));
    if (outside !== undefined) {
        return `it names ${outside}, which is neither ${allowed[0]} nor ${allowed[1]}`;
    }
    return null;
}

/** A create refused because of a record: the first line names the input, the file and the fix. */
function brokenRecord(configKey, record, reason, fix) {
    return new Error(`${configKey}: ${record} cannot be used (${reason}); nothing was changed. ${fix}`);
}

/** A destroy that leaves a broken record, and what it governs, as they are: it goes on, and says so. */
function leaveBrokenRecord(record, reason, governed, fix) {
    warn(`${record} cannot be used (${reason}); left it, and ${governed}, as they are: this destroy goes on. ${fix}`);
}

// --- the two modes -------------------------------------------------------------------------------

function restartDocker(restartCommand) {
    if (!restartCommand || restartCommand.length === 0) {
        process.stderr.write(
            "docker trust: daemon.json changed; restart the Docker daemon for it to take effect " +
                '(or set dockerRestartCommand, e.g. ["sudo","systemctl","restart","docker"])\n',
        );
        return false;
    }
    const result = childProcess.spawnSync(restartCommand[0], restartCommand.slice(1), { stdio: ["ignore", 2, 2] });
    if (result.status !== 0) {
        throw new Error(
            `the restart command ${JSON.stringify(restartCommand)} failed (${result.error ? result.error.message : `exit ${result.status}`})`,
        );
    }
    return true;
}

function readDaemonLedger(target, file) {
    return readRecord(ledgerPath(target), target, x => daemonLedgerProblem(x, file));
}

const daemonLedgerFix = file =>
    `Remove it, and from ${file} the registries this project's stacks added, then run again`;

/** Writes the daemon.json text and the ledger (null: remove), putting both back as they were if a write fails. */
function writeBoth(file, before, text, ledgerBefore, ledger, sudo) {
    const ledgerFile = ledgerPath(file);
    const writeLedger = value => saveRecord(ledgerFile, value, sudo, file);
    const writeText = value =>
        value === null ? privileged("removeFile", file, "", sudo) : writeFile(file, value, sudo);
    // On add the ledger goes first (never an entry nobody owns); on remove daemon.json goes first.
    const adding = ledger !== null;
    const steps = adding
        ? [() => writeLedger(ledger), () => text !== before && writeText(text)]
        : [() => text !== before && writeText(text), () => writeLedger(null)];
    const undo = adding
        ? [() => writeLedger(ledgerBefore), () => writeText(before)]
        : [() => writeText(before), () => writeLedger(ledgerBefore)];
    let done = 0;
    try {
        for (const step of steps) {
            step();
            done++;
        }
    } catch (e) {
        for (let i = done - 1; i >= 0; i--) {
            try {
                undo[i]();
            } catch (_) {
                /* reported below */
            }
        }
        throw e;
    }
}

function addInsecure(o) {
    const file = o.daemonConfig;
    if (!fs.existsSync(path.dirname(file))) {
        throw new Error(
            `the directory of ${file} does not exist: is Docker installed? Set dockerDaemonConfig to its daemon.json, or dockerTrust to "none"`,
        );
    }
    const target = realFile(file);
    const changed = withLock(
        target,
        () => {
            const current = readOrNull(target);
            const read = readDaemonLedger(target, file);
            if (read.state === "invalid") {
                throw brokenRecord("dockerDaemonConfig", ledgerPath(target), read.reason, daemonLedgerFix(file));
            }
            const ledgerBefore = read.state === "valid" ? read.value : null;
            const ledger = ledgerBefore
                ? JSON.parse(JSON.stringify(ledgerBefore))
                : {
                      createdFile: current === null,
                      // A blank file (no settings) comes back as it was, byte for byte.
                      blank: current !== null && parseDaemonConfig(current, file).blank ? current : null,
                      createdKey: false,
                      registries: {},
                  };
            let text = current === null ? "" : current;
            const listed = listedRegistries(text, file).includes(o.registry);
            // A stack created before the ledger existed: its own record says what it added.
            const legacy =
                o.previous &&
                o.previous.mode === "insecure" &&
                !o.previous.ledger &&
                o.previous.registry === o.registry &&
                o.previous.added
                    ? o.previous
                    : null;
            if (legacy && !ledgerBefore) {
                ledger.createdKey = legacy.added === "key";
                ledger.createdFile = legacy.createdFile === true;
            }
            const entry = ledger.registries[o.registry] || { listedBefore: listed && !legacy, owners: [] };
            if (!entry.owners.includes(o.owner)) {
                entry.owners.push(o.owner);
            }
            ledger.registries[o.registry] = entry;
            if (!listed) {
                const result = addRegistry(text, o.registry, file);
                text = result.text;
                ledger.createdKey = ledger.createdKey || result.added === "key";
            }
            writeBoth(target, current, text, ledgerBefore, ledger, o.sudo);
            return text !== current;
        },
        o.sudo,
    );
    const result = { mode: "insecure", file, registry: o.registry, owner: o.owner, ledger: true };
    if (changed) {
        try {
            result.restarted = restartDocker(o.restartCommand);
        } catch (e) {
            removeInsecure(o, result, false);
            throw new Error(`${e.message}; daemon.json was put back as it was`, { cause: e });
        }
    }
    return result;
}

/** Takes this owner out of the ledger; what no owner needs any more leaves daemon.json; the last one restores it. */
function removeInsecure(o, created, restart = true) {
    if (!created.ledger) {
        return removeInsecureUnrecorded(o, created, restart);
    }
    const file = created.file || o.daemonConfig;
    const target = realFile(file);
    const registry = created.registry || o.registry;
    const owner = created.owner || o.owner;
    let kept = null;
    const changed = withLock(
        target,
        () => {
            const current = readOrNull(target);
            const read = readDaemonLedger(target, file);
            if (read.state === "invalid") {
                kept = read.reason;
                leaveBrokenRecord(ledgerPath(target), read.reason, file, daemonLedgerFix(file));
                return false;
            }
            if (read.state === "missing") {
                return false;
            }
            const ledgerBefore = read.value;
            const ledger = JSON.parse(JSON.stringify(ledgerBefore));
            let text = current;
            const entry = ledger.registries[registry];
            if (entry) {
                entry.owners = entry.owners.filter(x => x !== owner);
                if (entry.owners.length === 0) {
                    delete ledger.registries[registry];
                    if (!entry.listedBefore && text !== null) {
                        text = removeRegistry(
                            text,
                            registry,
                            ledger.createdKey && Object.keys(ledger.registries).length === 0,
                            file,
                        );
                    }
                }
            }
            const last = Object.keys(ledger.registries).length === 0;
            if (last && text !== null && holdsNothing(text, file) && (ledger.createdFile || ledger.blank !== null)) {
                text = ledger.createdFile ? null : ledger.blank;
            }
            writeBoth(target, current, text, ledgerBefore, last ? null : ledger, o.sudo);
            return text !== current;
        },
        o.sudo,
    );
    if (restart && changed) {
        restartDocker(o.restartCommand);
    }
    return kept ? { removed: false, kept } : { removed: true };
}

/** Undoes a create recorded before the ledger existed (its stdout names what it added). */
function removeInsecureUnrecorded(o, created, restart) {
    const file = created.file || o.daemonConfig;
    if (!created.added) {
        return { removed: false };
    }
    editFile(
        file,
        current => {
            if (current === null) {
                return { text: null, result: null };
            }
            return {
                text: removeRegistry(current, created.registry || o.registry, created.added === "key", file),
                result: null,
            };
        },
        o.sudo,
    );
    if (created.createdFile) {
        // Remove the file we created only if nothing is left in it.
        withLock(
            realFile(file),
            () => {
                const left = readOrNull(file);
                if (left !== null && holdsNothing(left, file)) {
                    privileged("removeFile", file, "", o.sudo);
                }
            },
            o.sudo,
        );
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
        throw new Error(
            `the CA certificate (dockerCaFile) is not a PEM certificate (${e.message}); nothing was changed`,
            { cause: e },
        );
    }
}

const caLedgerFix = (file, registry) => `Remove it and ${file} if no other stack trusts ${registry}, then run again`;

/**
 * Writes ca.crt under two locks: certs.d's (beside it, in its parent: it covers making and removing the
 * directories, so a refused create leaves none behind) and the file's own (which earlier versions take too).
 */
function addCa(o) {
    checkCertificate(o.caCertificate);
    if (!fs.existsSync(path.dirname(o.certsDir))) {
        throw new Error(
            `the directory of ${o.certsDir} does not exist: is Docker installed? Set dockerCertsDir, or dockerTrust to "none"`,
        );
    }
    const certsDir = o.certsDir;
    const registryDir = path.join(certsDir, o.registry);
    const file = path.join(registryDir, "ca.crt");
    const previous = o.previous || {};
    // A create of the earlier version recorded its ownership only in its own output.
    const legacyOurs = previous.mode === "ca" && previous.file === file && previous.added === true && !previous.ledger;
    const ledgerFile = caLedgerPath(file);
    const recorded = withLock(
        certsDir,
        () => {
            const made = [];
            try {
                for (const dir of [certsDir, registryDir]) {
                    if (privileged("makeDirectory", dir, "", o.sudo) === "created") {
                        made.push(dir);
                    }
                }
                // certs.d made by ours is recorded in every ledger of ours in it, so that it is not forgotten when an
                // earlier version, which hands nothing over, removes its own ledger.
                const claims = made.includes(certsDir) || claimsCertsDir(certsDir) ? [certsDir] : [];
                const recorded = [...new Set([...made, ...claims])];
                return withLock(file, () => writeCa(o, file, ledgerFile, recorded, legacyOurs, previous), o.sudo);
            } catch (e) {
                // Nothing of a refused or failed create stays: the directories it made (empty by now).
                for (const dir of [...made].reverse()) {
                    privileged("removeEmptyDirectory", dir, "", o.sudo);
                }
                throw e;
            }
        },
        o.sudo,
    );
    if (!recorded) {
        // The user's file: nothing of ours to remove later (no directory was made, since the file was there).
        return { mode: "ca", file, registry: o.registry, owner: o.owner, added: false };
    }
    return { mode: "ca", file, registry: o.registry, owner: o.owner, ledger: true, added: true };
}

/** Whether a ledger of ours in certs.d says our stacks made it. */
function claimsCertsDir(certsDir) {
    return fs.readdirSync(certsDir).some(name => {
        const other = path.join(certsDir, name, "ca.crt");
        const read = readRecord(caLedgerPath(other), other, x => caLedgerProblem(x, other));
        return read.state === "valid" && read.value.createdDirs.some(d => path.resolve(d) === path.resolve(certsDir));
    });
}

/** Under the file's lock: records this owner (and the directories made) in the ledger, then writes ca.crt. */
function writeCa(o, file, ledgerFile, made, legacyOurs, previous) {
    const current = readOrNull(file);
    const read = readRecord(ledgerFile, file, x => caLedgerProblem(x, file));
    if (read.state === "invalid") {
        throw brokenRecord("dockerCertsDir", ledgerFile, read.reason, caLedgerFix(file, o.registry));
    }
    const ledgerBefore = read.state === "valid" ? read.value : null;
    if (current !== null && ledgerBefore === null && !legacyOurs) {
        if (current !== o.caCertificate) {
            throw new Error(
                `${file} already holds another certificate; remove it or set dockerTrust to "none". Nothing was changed`,
            );
        }
        // The user's own file, with the same certificate: used, never removed.
        return false;
    }
    const legacyDirs = legacyOurs && Array.isArray(previous.createdDirs) ? previous.createdDirs : [];
    const ledger = ledgerBefore
        ? JSON.parse(JSON.stringify(ledgerBefore))
        : { owners: [], createdDirs: legacyDirs.filter(d => caDirectories(file).includes(path.resolve(d))) };
    // What our stacks made, certs.d included: the ledger is where every version looks for it.
    for (const dir of made) {
        if (!ledger.createdDirs.includes(dir)) {
            ledger.createdDirs.push(dir);
        }
    }
    // Another stack's certificate is never replaced; our own (we are its only owner) is, on an update.
    if (current !== null && current !== o.caCertificate && ledger.owners.some(x => x !== o.owner)) {
        throw new Error(
            `${file} holds the certificate another stack (${ledger.owners.find(x => x !== o.owner)}) trusts; ` +
                "give the same dockerCaFile, or use another hostname. Nothing was changed",
        );
    }
    if (!ledger.owners.includes(o.owner)) {
        ledger.owners.push(o.owner);
    }
    saveRecord(ledgerFile, ledger, o.sudo, file);
    try {
        if (current !== o.caCertificate) {
            writeFile(file, o.caCertificate, o.sudo);
        }
    } catch (e) {
        saveRecord(ledgerFile, ledgerBefore, o.sudo, file);
        throw e;
    }
    return true;
}

/** Takes this owner off the certificate's record; the last one removes the certificate and the directories made for it. */
function removeCa(o, created) {
    if (!created.added) {
        return { removed: false };
    }
    const file = created.file;
    if (typeof file !== "string" || !path.isAbsolute(file) || path.basename(file) !== "ca.crt") {
        warn(`the record of this stack's create names no ca.crt (${JSON.stringify(file)}); nothing was removed`);
        return { removed: false };
    }
    const registryDir = path.dirname(file);
    const certsDir = path.dirname(registryDir);
    if (!fs.existsSync(path.dirname(certsDir))) {
        return { removed: true };
    }
    return withLock(
        certsDir,
        () => {
            let outcome = { dirs: [] };
            if (fs.existsSync(registryDir)) {
                outcome = withLock(
                    file,
                    () => (created.ledger ? leaveCa(o, created, file) : leaveUnrecordedCa(o, created, file)),
                    o.sudo,
                );
            }
            // After the file's lock is gone: it lives in the certificate's directory.
            if (outcome.dirs.includes(path.resolve(registryDir))) {
                privileged("removeEmptyDirectory", registryDir, "", o.sudo);
            }
            if (outcome.dirs.includes(path.resolve(certsDir))) {
                leaveCertsDir(certsDir, o.sudo);
            }
            return outcome.kept ? { removed: false, kept: outcome.kept } : { removed: true };
        },
        o.sudo,
    );
}

/** Under the file's lock: takes this owner off the ledger; the last one removes ca.crt and the ledger. */
function leaveCa(o, created, file) {
    const ledgerFile = caLedgerPath(file);
    const read = readRecord(ledgerFile, file, x => caLedgerProblem(x, file));
    if (read.state === "missing") {
        return { dirs: [] };
    }
    if (read.state === "invalid") {
        leaveBrokenRecord(ledgerFile, read.reason, file, caLedgerFix(file, created.registry || o.registry));
        return { dirs: [], kept: read.reason };
    }
    const ledger = read.value;
    ledger.owners = ledger.owners.filter(x => x !== (created.owner || o.owner));
    if (ledger.owners.length > 0) {
        saveRecord(ledgerFile, ledger, o.sudo, file);
        return { dirs: [] };
    }
    privileged("removeFile", file, "", o.sudo);
    privileged("removeFile", ledgerFile, "", o.sudo);
    return { dirs: ledger.createdDirs.map(d => path.resolve(d)) };
}

/** A create of an earlier version that kept no ledger: its own record says what it made. */
function leaveUnrecordedCa(o, created, file) {
    privileged("removeFile", file, "", o.sudo);
    const dirs = Array.isArray(created.createdDirs) ? created.createdDirs.map(d => path.resolve(String(d))) : [];
    return { dirs: dirs.filter(d => caDirectories(file).includes(d)) };
}

/**
 * Under certs.d's lock, when the last owner of a ledger saying certs.d was made by ours has gone: another ledger of
 * ours in certs.d takes that over (under its certificate's lock); with none left, certs.d is removed if it is empty
 * (the user may keep files of their own there).
 */
function leaveCertsDir(certsDir, sudo) {
    if (!fs.existsSync(certsDir)) {
        return;
    }
    for (const name of fs.readdirSync(certsDir)) {
        const other = path.join(certsDir, name, "ca.crt");
        if (!fs.existsSync(caLedgerPath(other))) {
            continue;
        }
        const taken = withLock(
            other,
            () => {
                const read = readRecord(caLedgerPath(other), other, x => caLedgerProblem(x, other));
                if (read.state !== "valid") {
                    return false;
                }
                const ledger = read.value;
                if (!ledger.createdDirs.some(d => path.resolve(d) === path.resolve(certsDir))) {
                    ledger.createdDirs.push(certsDir);
                    saveRecord(caLedgerPath(other), ledger, sudo, other);
                }
                return true;
            },
            sudo,
        );
        if (taken) {
            return;
        }
    }
    privileged("removeEmptyDirectory", certsDir, "", sudo);
}

// --- entry point ---------------------------------------------------------------------------------

function inputs() {
    const env = process.env;
    let previous = null;
    try {
        previous = env.PULUMI_COMMAND_STDOUT ? JSON.parse(env.PULUMI_COMMAND_STDOUT) : null;
    } catch (_) {
        /* not ours: treat as nothing recorded */
    }
    if (!isObject(previous)) {
        previous = null;
    }
    let restartCommand = [];
    if (env.DR_RESTART_COMMAND) {
        restartCommand = JSON.parse(env.DR_RESTART_COMMAND);
        if (!Array.isArray(restartCommand) || !restartCommand.every(a => typeof a === "string")) {
            throw new Error(
                'the restart command must be a list of strings (argv), e.g. ["sudo","systemctl","restart","docker"]',
            );
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
        owner: env.DR_OWNER || "",
        previous,
    };
}

function main(action) {
    const o = inputs();
    if (o.mode !== "insecure" && o.mode !== "ca") {
        throw new Error(`trust mode "${o.mode}" is not "insecure" or "ca"`);
    }
    if (action === "add") {
        if (!o.owner || /[\r\n]/.test(o.owner)) {
            throw new Error("DR_OWNER must name this stack on one line (the component sets it)");
        }
        return o.mode === "insecure" ? addInsecure(o) : addCa(o);
    }
    if (action === "remove") {
        const created = o.previous || {};
        return created.mode === "ca" ? removeCa(o, created) : removeInsecure(o, created);
    }
    throw new Error(`unknown action "${action}": use add or remove`);
}

function run(action) {
    report("docker trust", () => {
        try {
            return main(action);
        } catch (e) {
            const ca = process.env.DR_TRUST_MODE === "ca";
            throw describeFileError(
                e,
                ca ? "dockerCertsDir" : "dockerDaemonConfig",
                ca ? process.env.DR_CERTS_DIR : process.env.DR_DAEMON_CONFIG,
                "dockerSudo",
            );
        }
    });
}

module.exports = { main, run, ledgerPath };
if (require.main === module) {
    run(process.argv[2]);
}
