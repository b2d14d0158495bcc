"use strict";
// Edits a file of the workstation (hosts, daemon.json, ca.crt) safely: under a lock shared by every stack,
// replaced atomically, and through `sudo -n` only when the file is not writable. Where rename cannot replace the
// file (a bind mount, a directory we may not write), it is rewritten in place with a complete copy kept until
// the write is done: the next run puts back what a crash cut short.
// The files we keep beside an edited file (its lock, that copy, a ledger) are trusted only if no one but root,
// this user, the file's owner or its directory's owner could have written them. Every temporary is created
// exclusively under a name no one can guess, and we never remove a file we did not make.
// Plain CommonJS with no dependencies: the Command resources run it with `node -e`, bundled by
// scriptBundle.ts, and the tests run the same file.
const childProcess = require("child_process");
const crypto = require("crypto");
const fs = require("fs");
const os = require("os");
const path = require("path");

/** Waits ms milliseconds without a busy loop (the scripts are synchronous). */
function sleep(ms) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

// --- who holds a lock ----------------------------------------------------------------------------

/**
 * A lock that names no holder (the earlier version's, an empty directory) counts as stale after this long; a run
 * waits a little longer than that for a lock, so a waiter always outlives such a lock. A lock whose holder is
 * gone is taken over at once, and a live holder's lock never is.
 */
const staleAfterMs = 120000;
const waitMs = staleAfterMs + 5000;

/** This run's nonce: in every lock it holds, and in the name of every temporary it makes. */
const runNonce = crypto.randomBytes(8).toString("hex");
let lockSequence = 0;
let self = null;

/** Whether process pid runs, and its start time, which tells a reused pid apart (null when it cannot be read). */
function processInfo(pid) {
    try {
        process.kill(pid, 0);
    } catch (e) {
        if (e.code === "ESRCH") {
            return { running: false, start: null };
        }
        // EPERM: it runs, as another user.
    }
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        // A zombie has exited; only its parent has not collected it yet.
        return { running: fields[0] !== "Z" && fields[0] !== "X", start: `proc:${fields[19]}` };
    } catch (_) {
        /* no /proc (macOS), or it has just exited: ask ps */
    }
    // In UTC and the C locale: the same process reads the same, whoever asks.
    const ps = childProcess.spawnSync("ps", ["-o", "lstart=", "-p", String(pid)], {
        encoding: "utf8",
        env: { ...process.env, TZ: "UTC", LC_ALL: "C" },
    });
    const start = ps.status === 0 ? ps.stdout.trim() : "";
    // Without a start time a reused pid looks alive: the lock is then waited for, never taken from a live process.
    return { running: true, start: start ? `ps:${start}` : null };
}

/** Which boot of this machine we are in: Linux's boot id, or elsewhere the boot time (to the minute). */
function bootId() {
    try {
        return `id:${fs.readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim()}`;
    } catch (_) {
        return `at:${Math.round(Date.now() / 1000 - os.uptime())}`;
    }
}

/** Which pid namespace we are in (a container's pids are not the host's), or null where that cannot be read. */
function pidNamespace() {
    try {
        return fs.readlinkSync("/proc/self/ns/pid");
    } catch (_) {
        return null;
    }
}

function sameBoot(a, b) {
    if (a.startsWith("at:") && b.startsWith("at:")) {
        return Math.abs(Number(a.slice(3)) - Number(b.slice(3))) < 60;
    }
    return a === b;
}

/** The record a lock holds: enough to tell whether its holder still runs. */
function holderRecord() {
    if (self === null) {
        self = { start: processInfo(process.pid).start, boot: bootId(), host: os.hostname(), pids: pidNamespace() };
    }
    lockSequence += 1;
    return { version: 1, pid: process.pid, ...self, nonce: runNonce, sequence: lockSequence };
}

/** A lock's record, or null when the text is not one. */
function parseHolder(text) {
    let r;
    try {
        r = JSON.parse(text);
    } catch (_) {
        return null;
    }
    const valid =
        r !== null &&
        typeof r === "object" &&
        r.version === 1 &&
        Number.isInteger(r.pid) &&
        r.pid > 0 &&
        (r.start === null || typeof r.start === "string") &&
        typeof r.boot === "string" &&
        typeof r.host === "string" &&
        (r.pids === undefined || r.pids === null || typeof r.pids === "string") &&
        typeof r.nonce === "string" &&
        /^[0-9a-f]{16}$/.test(r.nonce) &&
        Number.isInteger(r.sequence);
    return valid ? r : null;
}

/** Whether a lock's holder is gone: same machine, and another boot, or no such process, or another process. */
function holderGone(r) {
    if (r.host !== os.hostname()) {
        return false; // another machine's process (a shared file system): we cannot tell
    }
    const pids = pidNamespace();
    if (typeof r.pids === "string" && pids !== null && r.pids !== pids) {
        return false; // a process of another pid namespace (a container): its pid means nothing here
    }
    if (!sameBoot(r.boot, bootId())) {
        return true;
    }
    const info = processInfo(r.pid);
    if (!info.running) {
        return true;
    }
    return r.start !== null && info.start !== null && info.start !== r.start;
}

// --- which files beside another we trust ----------------------------------------------------------

/** The users whose files beside `file` we trust: root, this user, the owner of file and of its directory. */
function trustedOwners(file) {
    const uids = new Set([0]);
    if (typeof process.geteuid === "function") {
        uids.add(process.geteuid());
    }
    for (const p of [file, path.dirname(file)]) {
        try {
            uids.add(fs.statSync(p).uid);
        } catch (_) {
            /* missing: trusts no one more */
        }
    }
    return uids;
}

function describeOwners(trusted) {
    return [...trusted].map(uid => (uid === 0 ? "root" : `uid ${uid}`)).join(", ");
}

/** Why someone outside `trusted` could have written the entry (stat) at name, or null when no one could. */
function untrusted(name, stat, trusted, directoryAllowed = false) {
    if (!stat.isFile() && !(directoryAllowed && stat.isDirectory())) {
        return "it is not a regular file";
    }
    if (!trusted.has(stat.uid)) {
        return `it belongs to uid ${stat.uid}`;
    }
    if (stat.mode & 0o022) {
        return stat.mode & 0o002 ? "anyone may write it" : "its group may write it";
    }
    const dir = fs.statSync(path.dirname(name));
    if (!trusted.has(dir.uid)) {
        return `its directory belongs to uid ${dir.uid}`;
    }
    if (dir.mode & 0o022 && !(dir.mode & 0o1000)) {
        return "others may replace files in its directory";
    }
    return null;
}

/**
 * Reads a record we keep beside `governed` (a ledger): { state: "missing" }, { state: "valid", value } or
 * { state: "invalid", reason }. validate(value) returns why the value is not a record of ours, or null.
 */
function readRecord(record, governed, validate) {
    let stat;
    try {
        stat = fs.lstatSync(record);
    } catch (e) {
        if (e.code === "ENOENT") {
            return { state: "missing" };
        }
        throw e;
    }
    const trusted = trustedOwners(governed);
    const problem = untrusted(record, stat, trusted);
    if (problem) {
        return {
            state: "invalid",
            reason: `someone other than ${describeOwners(trusted)} could have written it: ${problem}`,
        };
    }
    let value;
    try {
        value = JSON.parse(fs.readFileSync(record, "utf8"));
    } catch (e) {
        return { state: "invalid", reason: `it is not JSON: ${e.message}` };
    }
    const why = validate(value);
    return why ? { state: "invalid", reason: why } : { state: "valid", value };
}

/** Writes a record (null: removes it), atomically, with the mode of `reference` (at most 644) and our owner. */
function saveRecord(record, value, sudoMode, reference) {
    if (value === null) {
        return privileged("removeFile", record, "", sudoMode);
    }
    return privileged("writeRecord", record, `${JSON.stringify(value, null, 2)}\n`, sudoMode, runNonce, reference);
}

// --- where the lock and the copy of a file live ---------------------------------------------------

/**
 * The lock of a file lives beside it, so only those who may change that directory (root for /etc) can create or
 * hold it: a lock in the shared /tmp under a name anyone can compute could be held by any local user.
 * The name is the same for every stack.
 */
function lockPathFor(file) {
    return path.join(path.dirname(file), `.${path.basename(file)}.distribution-registry.lock`);
}

/** Where the copy of a file kept during an in-place write lives, beside its lock. */
function journalPathFor(lock) {
    return lock.replace(/\.lock$/, ".journal");
}

/**
 * A directory of this user's alone, for the lock and the copy of a file this user may write in a directory it may
 * not (sudo "never"): in the home directory, never in a shared place such as /tmp, where another user could make
 * the name first.
 */
function privateDirectory() {
    let home = "";
    try {
        home = os.homedir();
    } catch (_) {
        /* no home: said below */
    }
    if (!home || !path.isAbsolute(home)) {
        throw new Error(
            'this user has no home directory, where the lock of a file in a directory it may not write lives; set HOME, or let sudo be used ("auto")',
        );
    }
    const dir = path.join(home, ".local", "state", "distribution-registry");
    try {
        fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (e) {
        throw new Error(
            `${dir} cannot be made (${e.code}): the lock of a file in a directory this user may not write lives there; ` +
                'set HOME to this user\'s home, or let sudo be used ("auto")',
            { cause: e },
        );
    }
    const uid = typeof process.geteuid === "function" ? process.geteuid() : null;
    for (const [d, others] of [
        [dir, 0o077],
        [path.dirname(dir), 0o022],
    ]) {
        const st = fs.lstatSync(d);
        if (!st.isDirectory() || (uid !== null && st.uid !== uid && (d === dir || st.uid !== 0)) || st.mode & others) {
            throw new Error(
                `${d} is not a directory of this user that others may not change, and the lock of a file in a directory ` +
                    `this user may not write lives there; make it this user's (chown) with mode ${d === dir ? 700 : 755}, or let sudo be used ("auto")`,
            );
        }
    }
    return dir;
}

/**
 * Where this process takes the lock of file and keeps its copy: beside it when it may create entries there (itself
 * or with `sudo -n`); otherwise (sudo "never" and a writable file in a directory that is not) in a directory of
 * this user only.
 */
function lockPlace(file, sudoMode) {
    const beside = lockPathFor(file);
    if (canWrite(path.dirname(file), true)) {
        return { lock: beside, journal: journalPathFor(beside), sudo: "never" };
    }
    if (sudoMode !== "never") {
        return { lock: beside, journal: journalPathFor(beside), sudo: "always" };
    }
    const id = crypto.createHash("sha256").update(file).digest("hex").slice(0, 16);
    const lock = path.join(privateDirectory(), `${id}-${path.basename(file)}.lock`);
    return { lock, journal: journalPathFor(lock), sudo: "never" };
}

// --- the lock ------------------------------------------------------------------------------------

/**
 * What is at a lock's name: { state: "gone" }, { state: "held", record? } or { state: "stale", generation, nonce? }.
 * A generation names one lock exactly (a holder's nonce and sequence, or for a lock with no readable record its
 * inode and time), so that removing a stale lock can never remove a newer one.
 */
function inspectLock(name, trusted) {
    let stat;
    try {
        stat = fs.lstatSync(name);
    } catch (e) {
        if (e.code === "ENOENT") {
            return { state: "gone" };
        }
        throw e;
    }
    const problem = untrusted(name, stat, trusted, true);
    if (problem) {
        throw new Error(
            `the lock ${name} was not made by this project's scripts (${problem}); nothing was changed. ` +
                "Remove it if no `pulumi up` or `pulumi destroy` is running, and check who may write its directory",
        );
    }
    const aged = Date.now() - stat.mtimeMs > staleAfterMs;
    const era = `${stat.ino}-${Math.floor(stat.mtimeMs)}`;
    if (stat.isDirectory()) {
        return aged ? { state: "stale", generation: `d${era}` } : { state: "held" };
    }
    let text;
    try {
        text = fs.readFileSync(name, "utf8");
    } catch (e) {
        if (e.code === "ENOENT") {
            return { state: "gone" };
        }
        throw e;
    }
    // The same rule as removeLock's.
    let generation = `f${era}`;
    try {
        const r = JSON.parse(text);
        if (r && typeof r.nonce === "string" && /^[0-9a-f]{16}$/.test(r.nonce) && Number.isInteger(r.sequence)) {
            generation = `${r.nonce}-${r.sequence}`;
        }
    } catch (_) {
        /* no record: named by inode and time */
    }
    const record = parseHolder(text);
    if (!record) {
        return aged ? { state: "stale", generation } : { state: "held" };
    }
    if (holderGone(record)) {
        return { state: "stale", generation, nonce: record.nonce };
    }
    return { state: "held", record };
}

/**
 * One attempt at the lock at name. A stale lock is taken over by exactly one contender: the one that makes the
 * claim named after its generation removes it (and what its holder left), then takes the lock as anyone would.
 * Returns { generation } when taken, or { holder } (what holds it).
 */
function tryLock(name, sudo, trusted, cleanDirs, depth) {
    let seen = { state: "held" };
    for (let attempt = 0; attempt < 3; attempt++) {
        const record = holderRecord();
        if (privileged("makeLock", name, JSON.stringify(record), sudo) === "created") {
            return { generation: `${record.nonce}-${record.sequence}` };
        }
        seen = inspectLock(name, trusted);
        if (seen.state === "gone") {
            continue;
        }
        if (seen.state === "held" || depth >= 3) {
            return { holder: seen };
        }
        const claimName = `${name}.t-${seen.generation}`;
        const claim = tryLock(claimName, sudo, trusted, cleanDirs, depth + 1);
        if (!claim.generation) {
            return { holder: seen }; // another contender is taking it over
        }
        try {
            if (privileged("removeLock", name, "", sudo, seen.generation) === "removed" && seen.nonce) {
                clearLeftovers(cleanDirs, seen.nonce, sudo, trusted);
            }
        } finally {
            privileged("removeLock", claimName, "", sudo, claim.generation);
        }
    }
    return { holder: seen };
}

/** Removes what a holder that is gone left: temporaries named with its nonce, and claims it made. */
function clearLeftovers(dirs, nonce, sudo, trusted) {
    for (const dir of new Set(dirs)) {
        privileged("removeLeftovers", dir, "", sudo, nonce, [...trusted].join(","));
    }
}

/** Claims on generations of a lock we now hold, made by holders that are gone (a crash in the middle of a takeover). */
function sweepClaims(lock, sudo, trusted, cleanDirs) {
    const prefix = `${path.basename(lock)}.t-`;
    let names;
    try {
        names = fs.readdirSync(path.dirname(lock)).filter(n => n.startsWith(prefix) && !n.includes(".", prefix.length));
    } catch (_) {
        return;
    }
    for (const n of names) {
        const claim = path.join(path.dirname(lock), n);
        let seen;
        try {
            seen = inspectLock(claim, trusted);
        } catch (_) {
            continue; // not ours: left alone
        }
        if (seen.state === "stale" && seen.nonce) {
            if (privileged("removeLock", claim, "", sudo, seen.generation) === "removed") {
                clearLeftovers(cleanDirs, seen.nonce, sudo, trusted);
            }
        }
    }
}

function lockTimeout(lock, file, holder) {
    const r = holder.record;
    const who = r
        ? `held by process ${r.pid} on ${r.host}, which still runs`
        : "held by a run that names no holder (an earlier version of this project, or one that is starting)";
    return new Error(
        `timed out after ${waitMs / 1000} s waiting for the lock ${lock} on ${file}, ${who}; ` +
            "if that is not a `pulumi up` or `pulumi destroy`, stop it or remove the lock, and retry",
    );
}

/** The files this process holds the lock of (real path), with where their lock and copy live. */
const held = new Map();

/**
 * Runs fn while holding an exclusive lock on file (made with link(2) or mkdir(2), atomic on every POSIX system;
 * flock is not on macOS). A copy left by an in-place write that was cut short is put back first.
 */
function withLock(file, fn, sudoMode = "auto") {
    checkSudoMode(sudoMode);
    const target = realFile(file);
    const place = lockPlace(target, sudoMode);
    const trusted = trustedOwners(target);
    const cleanDirs = [path.dirname(place.lock), path.dirname(target)];
    const started = Date.now();
    let taken;
    for (;;) {
        taken = tryLock(place.lock, place.sudo, trusted, cleanDirs, 0);
        if (taken.generation) {
            break;
        }
        if (Date.now() - started > waitMs) {
            throw lockTimeout(place.lock, target, taken.holder);
        }
        sleep(10 + Math.floor(Math.random() * 30));
    }
    held.set(target, place);
    try {
        sweepClaims(place.lock, place.sudo, trusted, cleanDirs);
        recover(target, place, sudoMode, trusted);
        return fn();
    } finally {
        held.delete(target);
        privileged("removeLock", place.lock, "", place.sudo, taken.generation);
    }
}

// --- writing a file, in place where it must be ----------------------------------------------------

/** Whether cur is what an in-place write of after over before leaves when cut short (or done). */
function isCutShort(before, after, cur) {
    if (cur.equals(before) || cur.equals(after)) {
        return true;
    }
    // rewriteInPlace writes after from offset 0, then truncates to its length: cut short, the file holds a prefix
    // of after and then the rest of before.
    if (cur.length > before.length) {
        return cur.length <= after.length && cur.equals(after.subarray(0, cur.length));
    }
    if (cur.length !== before.length) {
        return false;
    }
    let prefix = 0;
    while (prefix < cur.length && prefix < after.length && cur[prefix] === after[prefix]) {
        prefix++;
    }
    let suffix = cur.length;
    while (suffix > 0 && cur[suffix - 1] === before[suffix - 1]) {
        suffix--;
    }
    return suffix <= prefix;
}

/** Puts back a file whose in-place write was cut short, from the copy kept for it; then removes the copy. */
function recover(target, place, sudoMode, trusted) {
    let stat;
    try {
        stat = fs.lstatSync(place.journal);
    } catch (e) {
        if (e.code === "ENOENT") {
            return;
        }
        throw e;
    }
    const refuse = why =>
        new Error(
            `${target} has a copy kept during an interrupted write of ours, ${place.journal}, that ${why}; nothing was changed. ` +
                `Check ${target} (the copy holds, base64-encoded, what it was before that write), then remove the copy`,
        );
    const problem = untrusted(place.journal, stat, trusted);
    if (problem) {
        throw refuse(`cannot be trusted (${problem})`);
    }
    let journal;
    try {
        journal = JSON.parse(fs.readFileSync(place.journal, "utf8"));
    } catch (_) {
        throw refuse("cannot be read");
    }
    if (
        !journal ||
        journal.version !== 1 ||
        journal.file !== target ||
        typeof journal.before !== "string" ||
        typeof journal.after !== "string"
    ) {
        throw refuse("is not one for this file");
    }
    const before = Buffer.from(journal.before, "base64");
    const current = fs.readFileSync(target);
    if (!current.equals(before)) {
        if (!isCutShort(before, Buffer.from(journal.after, "base64"), current)) {
            throw refuse("does not match what the file holds now (it changed since)");
        }
        privileged("rewriteInPlace", target, journal.before, sudoMode, "base64");
        process.stderr.write(`${target}: a write of ours cut short by a crash was undone from ${place.journal}\n`);
    }
    privileged("removeFile", place.journal, "", place.sudo);
}

/**
 * Writes text to target, whose lock this process holds: atomically (a new file renamed over it), or where rename
 * cannot replace it, in place with a complete copy of what it held kept beside the lock until the write is done.
 */
function writeFile(target, text, sudoMode) {
    const real = realFile(target);
    const place = held.get(real);
    if (!place) {
        throw new Error(`internal error: ${real} written without its lock`);
    }
    if (privileged("writeFileAtomic", real, text, sudoMode, runNonce) === "replaced") {
        return;
    }
    // /etc/hosts is a bind mount in containers (rename onto it fails with EBUSY), and a writable file may sit in a
    // directory that is not.
    const before = fs.readFileSync(real);
    const journal = {
        version: 1,
        file: real,
        before: before.toString("base64"),
        after: Buffer.from(text).toString("base64"),
    };
    privileged("writeRecord", place.journal, JSON.stringify(journal), place.sudo, runNonce, real);
    try {
        privileged("rewriteInPlace", real, text, sudoMode, "utf8");
    } catch (e) {
        try {
            if (!fs.readFileSync(real).equals(before)) {
                privileged("rewriteInPlace", real, journal.before, sudoMode, "base64");
            }
            privileged("removeFile", place.journal, "", place.sudo);
        } catch (_) {
            /* the copy stays: the next run puts the file back from it */
        }
        throw e;
    }
    privileged("removeFile", place.journal, "", place.sudo);
}

/** The real file behind a path: renaming onto a symlink (macOS's /etc -> /private/etc) would replace the link. */
function realFile(file) {
    try {
        return fs.realpathSync(file);
    } catch (e) {
        if (e.code !== "ENOENT") {
            throw e;
        }
        return path.join(fs.realpathSync(path.dirname(file)), path.basename(file));
    }
}

/** Reads a file; a missing file reads as null. */
function readOrNull(file) {
    try {
        return fs.readFileSync(file, "utf8");
    } catch (e) {
        if (e.code === "ENOENT") {
            return null;
        }
        throw e;
    }
}

// The privileged operations. They are written to run on their own (their source is sent to
// `sudo -n node -e`), so they use nothing outside their own body but Node's modules. Every temporary they make
// is created exclusively (O_EXCL) under a name with the run's nonce and random bytes, and only it is removed.

/**
 * Replaces file with content atomically, keeping its mode and owner. Returns "replaced", or "in place" when
 * rename cannot replace the file (nothing was changed then).
 */
function writeFileAtomic(file, content, nonce) {
    const crypto = require("crypto");
    const fs = require("fs");
    const path = require("path");
    let stat = null;
    try {
        stat = fs.statSync(file);
    } catch (e) {
        if (e.code !== "ENOENT") {
            throw e;
        }
    }
    const mode = stat ? stat.mode & 0o7777 : 0o644;
    let temp = null;
    try {
        let fd;
        while (temp === null) {
            const name = path.join(
                path.dirname(file),
                `.${path.basename(file)}.${nonce}.${crypto.randomBytes(8).toString("hex")}`,
            );
            try {
                fd = fs.openSync(name, "wx", mode & 0o777);
                temp = name;
            } catch (e) {
                if (e.code !== "EEXIST") {
                    throw e;
                }
            }
        }
        try {
            fs.writeFileSync(fd, content);
            fs.fsyncSync(fd);
        } finally {
            fs.closeSync(fd);
        }
        fs.chmodSync(temp, mode);
        if (stat && typeof process.getuid === "function" && process.getuid() === 0) {
            fs.chownSync(temp, stat.uid, stat.gid);
        }
        fs.renameSync(temp, file);
        return "replaced";
    } catch (e) {
        if (temp !== null) {
            try {
                fs.unlinkSync(temp);
            } catch (_) {
                /* renamed meanwhile, or gone */
            }
        }
        if (stat && ["EBUSY", "EXDEV", "EACCES", "EPERM"].includes(e.code)) {
            return "in place";
        }
        throw e;
    }
}

/** Overwrites file from its first byte and then cuts it to length: no moment at which it is empty. */
function rewriteInPlace(file, content, encoding) {
    const fs = require("fs");
    const data = Buffer.from(content, encoding);
    const fd = fs.openSync(file, "r+");
    try {
        let written = 0;
        while (written < data.length) {
            written += fs.writeSync(fd, data, written, data.length - written, written);
        }
        fs.ftruncateSync(fd, data.length);
        fs.fsyncSync(fd);
    } finally {
        fs.closeSync(fd);
    }
    return "rewritten in place";
}

/** Writes a record we keep (a ledger, the copy of a file): a new file of ours renamed over it, mode from reference. */
function writeRecord(file, content, nonce, reference) {
    const crypto = require("crypto");
    const fs = require("fs");
    const path = require("path");
    let mode = 0o644;
    try {
        mode = fs.statSync(reference).mode & 0o644;
    } catch (_) {
        /* no reference: 644 */
    }
    let temp = null;
    try {
        let fd;
        while (temp === null) {
            const name = path.join(
                path.dirname(file),
                `.${path.basename(file)}.${nonce}.${crypto.randomBytes(8).toString("hex")}`,
            );
            try {
                fd = fs.openSync(name, "wx", mode);
                temp = name;
            } catch (e) {
                if (e.code !== "EEXIST") {
                    throw e;
                }
            }
        }
        try {
            fs.writeFileSync(fd, content);
            fs.fsyncSync(fd);
        } finally {
            fs.closeSync(fd);
        }
        fs.chmodSync(temp, mode);
        fs.renameSync(temp, file);
        return "written";
    } catch (e) {
        if (temp !== null) {
            try {
                fs.unlinkSync(temp);
            } catch (_) {
                /* renamed meanwhile, or gone */
            }
        }
        throw e;
    }
}

function removeFile(file) {
    const fs = require("fs");
    try {
        fs.unlinkSync(file);
    } catch (e) {
        if (e.code !== "ENOENT") {
            throw e;
        }
    }
    return "removed";
}

/** Makes one directory: "created" when this call made it, "existed" when it was there. */
function makeDirectory(dir) {
    try {
        require("fs").mkdirSync(dir, { mode: 0o755 });
        return "created";
    } catch (e) {
        if (e.code === "EEXIST") {
            return "existed";
        }
        throw e;
    }
}

/** Removes a directory only if it is empty: it may have gained files that are not ours. */
function removeEmptyDirectory(dir) {
    try {
        require("fs").rmdirSync(dir);
        return "removed";
    } catch (e) {
        if (["ENOENT", "ENOTEMPTY", "EEXIST"].includes(e.code)) {
            return "kept";
        }
        throw e;
    }
}

/**
 * Makes the lock at name holding record, unless something is there: "created" when this call made it, "held"
 * otherwise. The record is written to a temporary first and linked to the name, so the lock never exists
 * without it; a directory (the earlier version's lock) at the name holds it too.
 */
function makeLock(lock, record) {
    const crypto = require("crypto");
    const fs = require("fs");
    const { nonce } = JSON.parse(record);
    const temp = `${lock}.${nonce}.${crypto.randomBytes(8).toString("hex")}`;
    const fd = fs.openSync(temp, "wx", 0o644);
    try {
        try {
            fs.writeFileSync(fd, record);
            fs.fsyncSync(fd);
        } finally {
            fs.closeSync(fd);
        }
        fs.chmodSync(temp, 0o644);
        try {
            fs.linkSync(temp, lock);
            return "created";
        } catch (e) {
            if (e.code === "EEXIST") {
                return "held";
            }
            throw e;
        }
    } finally {
        fs.unlinkSync(temp);
    }
}

/** Removes the lock at name only if it is still the one of that generation (the same rule as inspectLock's). */
function removeLock(lock, _content, generation) {
    const fs = require("fs");
    let stat;
    try {
        stat = fs.lstatSync(lock);
    } catch (e) {
        if (e.code === "ENOENT") {
            return "gone";
        }
        throw e;
    }
    const era = `${stat.ino}-${Math.floor(stat.mtimeMs)}`;
    let current = `d${era}`;
    if (stat.isFile()) {
        current = `f${era}`;
        try {
            const r = JSON.parse(fs.readFileSync(lock, "utf8"));
            if (r && typeof r.nonce === "string" && /^[0-9a-f]{16}$/.test(r.nonce) && Number.isInteger(r.sequence)) {
                current = `${r.nonce}-${r.sequence}`;
            }
        } catch (_) {
            /* no record: named by inode and time */
        }
    } else if (!stat.isDirectory()) {
        return "not ours";
    }
    if (current !== generation) {
        return "not ours";
    }
    if (stat.isDirectory()) {
        try {
            fs.rmdirSync(lock);
        } catch (e) {
            if (["ENOENT", "ENOTEMPTY", "EEXIST"].includes(e.code)) {
                return "kept";
            }
            throw e;
        }
        return "removed";
    }
    fs.unlinkSync(lock);
    return "removed";
}

/**
 * In dir, removes what a run with that nonce left when it was killed: its temporaries (".<name>.<nonce>.<random>")
 * and its lock claims (whose record names the nonce). Only regular files owned by the trusted uids (a list).
 */
function removeLeftovers(dir, _content, nonce, trustedList) {
    const fs = require("fs");
    const path = require("path");
    const trusted = trustedList.split(",").map(Number);
    let removed = 0;
    for (const name of fs.readdirSync(dir)) {
        const file = path.join(dir, name);
        let ours = name.includes(`.${nonce}.`);
        if (!ours && /\.lock(\.t-[^.]+)+$/.test(name)) {
            try {
                ours = JSON.parse(fs.readFileSync(file, "utf8")).nonce === nonce;
            } catch (_) {
                ours = false;
            }
        }
        if (!ours) {
            continue;
        }
        const stat = fs.lstatSync(file);
        if (stat.isFile() && trusted.includes(stat.uid)) {
            fs.unlinkSync(file);
            removed++;
        }
    }
    return String(removed);
}

const operations = {
    writeFileAtomic,
    rewriteInPlace,
    writeRecord,
    removeFile,
    makeDirectory,
    removeEmptyDirectory,
    makeLock,
    removeLock,
    removeLeftovers,
};

/** Whether this process may change target (a file, or for a missing file its directory; with isDirectory, entries in it). */
function canWrite(target, isDirectory = false) {
    try {
        fs.accessSync(isDirectory || fs.existsSync(target) ? target : path.dirname(target), fs.constants.W_OK);
        return true;
    } catch (_) {
        return false;
    }
}

const sudoModes = ["auto", "always", "never"];

function checkSudoMode(sudoMode) {
    if (!sudoModes.includes(sudoMode)) {
        throw new Error(`the sudo mode "${sudoMode}" is not "auto", "always" or "never"; nothing was changed`);
    }
}

/**
 * Runs one privileged operation on target: directly, or with `sudo -n` when sudoMode is "always", or
 * "auto" and target is not writable. The content goes through stdin, never a command line; the other arguments
 * (nonces, generations, modes: never a secret) as arguments.
 */
function privileged(operation, target, content, sudoMode, ...args) {
    checkSudoMode(sudoMode);
    const useSudo = sudoMode === "always" || (sudoMode !== "never" && !canWrite(target));
    if (!useSudo) {
        return operations[operation](target, content, ...args);
    }
    const source =
        `${operations[operation].toString()}\n` +
        `const input = require("fs").readFileSync(0, "utf8");\n` +
        `process.stdout.write(String(${operation}(process.argv[1], input, ...process.argv.slice(2))));\n`;
    const result = childProcess.spawnSync("sudo", ["-n", process.execPath, "-e", source, target, ...args], {
        input: content || "",
        encoding: "utf8",
    });
    if (result.error && result.error.code === "ENOENT") {
        throw new Error(
            `${target} is not writable and sudo is not installed: make the file writable, or run as a user who can write it`,
        );
    }
    if (result.status !== 0) {
        throw new Error(
            `sudo -n could not change ${target}: ${(result.stderr || "").trim()}. ` +
                'Run `sudo -v` before `pulumi up` so sudo does not ask for a password, or make the file writable and set sudo to "never"',
        );
    }
    return result.stdout;
}

/**
 * Edits file under the lock: edit(currentTextOrNull) returns { text, result } where text null means
 * "leave the file as it is". Returns result. Nothing is written when edit throws.
 */
function editFile(file, edit, sudoMode) {
    const target = realFile(file);
    return withLock(
        target,
        () => {
            const current = readOrNull(target);
            const { text, result } = edit(current);
            if (text !== null && text !== current) {
                writeFile(target, text, sudoMode);
            }
            return result;
        },
        sudoMode,
    );
}

/**
 * A file error (ENOENT, EISDIR, EACCES...) as a sentence that names the config key and the fix; other errors
 * pass through. sudoKey is the config key of the sudo mode for that file.
 */
function describeFileError(e, configKey, file, sudoKey) {
    const problems = {
        ENOENT: [`${file}, or its directory, does not exist`, `Set ${configKey} to the right path`],
        ENOTDIR: [`a part of ${file} is not a directory`, `Set ${configKey} to the right path`],
        EISDIR: [`${file} is a directory, not a file`, `Set ${configKey} to the file itself`],
        EACCES: [
            `permission denied on ${file}`,
            `Run as a user who may change it, or set ${sudoKey} "auto" and run \`sudo -v\` first`,
        ],
        EPERM: [
            `the operation is not permitted on ${file}`,
            `Run as a user who may change it, or set ${sudoKey} "auto" and run \`sudo -v\` first`,
        ],
        EROFS: [`${file} is on a read-only file system`, `Set ${configKey} to a writable file, or turn this step off`],
    };
    const known = e && problems[e.code];
    if (!known) {
        return e;
    }
    return new Error(`${configKey}: ${known[0]} (${e.code}); nothing was changed. ${known[1]}`);
}

module.exports = {
    editFile,
    privileged,
    withLock,
    writeFile,
    readRecord,
    saveRecord,
    readOrNull,
    realFile,
    lockPathFor,
    describeFileError,
};
