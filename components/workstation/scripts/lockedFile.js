"use strict";
// Edits a file of the workstation (hosts, daemon.json, ca.crt) safely: under a lock shared by every
// stack, replaced atomically, and through `sudo -n` only when the file is not writable.
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

/** The lock of a file lives in the temp directory: /etc is not writable without sudo, and the name is the same for every stack. */
function lockPathFor(file) {
    const id = crypto.createHash("sha256").update(path.resolve(file)).digest("hex").slice(0, 16);
    return path.join(os.tmpdir(), `distribution-registry-${id}.lock`);
}

/** Runs fn while holding an exclusive lock on file: mkdir is atomic on every POSIX system (flock is not on macOS). */
function withLock(file, fn, timeoutMs = 60000) {
    const lock = lockPathFor(file);
    const started = Date.now();
    for (;;) {
        try {
            fs.mkdirSync(lock);
            break;
        } catch (e) {
            if (e.code !== "EEXIST") {
                throw e;
            }
            // A holder that died leaves its lock behind; no edit takes anywhere near this long.
            try {
                if (Date.now() - fs.statSync(lock).mtimeMs > 120000) {
                    fs.rmdirSync(lock);
                    continue;
                }
            } catch (_) { /* released meanwhile */ }
            if (Date.now() - started > timeoutMs) {
                throw new Error(`timed out after ${timeoutMs / 1000} s waiting for the lock ${lock} on ${file}; ` +
                    "if no other `pulumi up` is running, remove that directory and retry");
            }
            sleep(20 + Math.floor(Math.random() * 30));
        }
    }
    try {
        return fn();
    } finally {
        fs.rmdirSync(lock);
    }
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
// `sudo -n node -e`), so they use nothing outside their own body but Node's modules.

/** Replaces file with content atomically, keeping its mode and owner; rewrites in place where rename cannot work. */
function writeFileAtomic(file, content) {
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
    const temp = path.join(path.dirname(file), `.${path.basename(file)}.distribution-registry-${process.pid}`);
    try {
        const fd = fs.openSync(temp, "wx", mode);
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
        try { fs.unlinkSync(temp); } catch (_) { /* never created */ }
        // /etc/hosts is a bind mount in containers (rename onto it fails with EBUSY), and a writable file may sit in
        // a directory that is not: rewrite in place. The caller holds the lock, so no other editor interleaves.
        if (stat && ["EBUSY", "EXDEV", "EACCES", "EPERM", "EROFS"].includes(e.code)) {
            fs.writeFileSync(file, content);
            return "rewritten in place";
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

function makeDirectory(dir) {
    require("fs").mkdirSync(dir, { recursive: true, mode: 0o755 });
    return "created";
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

const operations = { writeFileAtomic, removeFile, makeDirectory, removeEmptyDirectory };

/** Whether this process may change target (a file, or for a missing file its directory). */
function canWrite(target) {
    try {
        fs.accessSync(fs.existsSync(target) ? target : path.dirname(target), fs.constants.W_OK);
        return true;
    } catch (_) {
        return false;
    }
}

/**
 * Runs one privileged operation on target: directly, or with `sudo -n` when sudoMode is "always", or
 * "auto" and target is not writable. The content goes through stdin, never a command line.
 */
function privileged(operation, target, content, sudoMode) {
    const useSudo = sudoMode === "always" || (sudoMode !== "never" && !canWrite(target));
    if (!useSudo) {
        return operations[operation](target, content);
    }
    const source = `${operations[operation].toString()}\n` +
        `const input = require("fs").readFileSync(0, "utf8");\n` +
        `process.stdout.write(String(${operation}(process.argv[1], input)));\n`;
    const result = childProcess.spawnSync("sudo", ["-n", process.execPath, "-e", source, target],
        { input: content || "", encoding: "utf8" });
    if (result.error && result.error.code === "ENOENT") {
        throw new Error(`${target} is not writable and sudo is not installed: make the file writable, or run as a user who can write it`);
    }
    if (result.status !== 0) {
        throw new Error(`sudo -n could not change ${target}: ${(result.stderr || "").trim()}. ` +
            "Run `sudo -v` before `pulumi up` so sudo does not ask for a password, or make the file writable and set sudo to \"never\"");
    }
    return result.stdout;
}

/**
 * Edits file under the lock: edit(currentTextOrNull) returns { text, result } where text null means
 * "leave the file as it is". Returns result. Nothing is written when edit throws.
 */
function editFile(file, edit, sudoMode) {
    const target = realFile(file);
    return withLock(target, () => {
        const current = readOrNull(target);
        const { text, result } = edit(current);
        if (text !== null && text !== current) {
            privileged("writeFileAtomic", target, text, sudoMode);
        }
        return result;
    });
}

module.exports = { editFile, privileged, withLock, readOrNull, realFile, lockPathFor };
