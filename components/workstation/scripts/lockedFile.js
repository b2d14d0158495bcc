"use strict";
// Edits a file of the workstation (hosts, daemon.json, ca.crt) safely: under a lock shared by every
// stack, replaced atomically, and through `sudo -n` only when the file is not writable.
// Plain CommonJS with no dependencies: the Command resources run it with `node -e`, bundled by
// scriptBundle.ts, and the tests run the same file.
const childProcess = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");

/** Waits ms milliseconds without a busy loop (the scripts are synchronous). */
function sleep(ms) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * The lock of a file lives beside it, so only those who may change that directory (root for /etc) can create or
 * hold it: a lock in the shared /tmp under a name anyone can compute could be held by any local user.
 * The name is the same for every stack.
 */
function lockPathFor(file) {
    return path.join(path.dirname(file), `.${path.basename(file)}.distribution-registry.lock`);
}

/**
 * Where this process can take the lock of file: beside it when it may create entries there (itself or with
 * `sudo -n`); otherwise (sudo "never" and a writable file in a directory that is not) a directory of this user
 * only, which no other user can create or enter.
 */
function lockPlace(file, sudoMode) {
    const beside = lockPathFor(file);
    if (canWrite(path.dirname(file), true)) {
        return { lock: beside, sudo: "never" };
    }
    if (sudoMode !== "never") {
        return { lock: beside, sudo: "always" };
    }
    const own = path.join(
        os.tmpdir(),
        `distribution-registry-${typeof process.getuid === "function" ? process.getuid() : "user"}`,
    );
    try {
        fs.mkdirSync(own, { mode: 0o700 });
    } catch (e) {
        if (e.code !== "EEXIST") {
            throw e;
        }
    }
    const stat = fs.lstatSync(own);
    if (
        !stat.isDirectory() ||
        (typeof process.getuid === "function" && stat.uid !== process.getuid()) ||
        (stat.mode & 0o077) !== 0
    ) {
        throw new Error(
            `${own} is not a private directory of this user (someone else made it); remove it, or let sudo be used ("auto")`,
        );
    }
    return { lock: path.join(own, path.basename(beside)), sudo: "never" };
}

/** Runs fn while holding an exclusive lock on file: mkdir is atomic on every POSIX system (flock is not on macOS). */
function withLock(file, fn, sudoMode = "auto", timeoutMs = 60000) {
    const { lock, sudo } = lockPlace(file, sudoMode);
    const started = Date.now();
    for (;;) {
        if (privileged("makeLockDirectory", lock, "", sudo) === "created") {
            break;
        }
        // A holder that died leaves its lock behind; no edit takes anywhere near this long.
        try {
            if (Date.now() - fs.statSync(lock).mtimeMs > 120000) {
                privileged("removeEmptyDirectory", lock, "", sudo);
                continue;
            }
        } catch (_) {
            /* released meanwhile */
        }
        if (Date.now() - started > timeoutMs) {
            throw new Error(
                `timed out after ${timeoutMs / 1000} s waiting for the lock ${lock} on ${file}; ` +
                    "if no other `pulumi up` is running, remove that directory and retry",
            );
        }
        sleep(20 + Math.floor(Math.random() * 30));
    }
    try {
        return fn();
    } finally {
        privileged("removeEmptyDirectory", lock, "", sudo);
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
        try {
            fs.unlinkSync(temp);
        } catch (_) {
            /* never created */
        }
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

/** Creates the lock directory unless it exists: "created" when this call made it, "held" when it was there. */
function makeLockDirectory(dir) {
    try {
        require("fs").mkdirSync(dir, { mode: 0o700 });
        return "created";
    } catch (e) {
        if (e.code === "EEXIST") {
            return "held";
        }
        throw e;
    }
}

const operations = { writeFileAtomic, removeFile, makeDirectory, removeEmptyDirectory, makeLockDirectory };

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

/**
 * Runs one privileged operation on target: directly, or with `sudo -n` when sudoMode is "always", or
 * "auto" and target is not writable. The content goes through stdin, never a command line.
 */
function privileged(operation, target, content, sudoMode) {
    if (!sudoModes.includes(sudoMode)) {
        throw new Error(`the sudo mode "${sudoMode}" is not "auto", "always" or "never"; nothing was changed`);
    }
    const useSudo = sudoMode === "always" || (sudoMode !== "never" && !canWrite(target));
    if (!useSudo) {
        return operations[operation](target, content);
    }
    const source =
        `${operations[operation].toString()}\n` +
        `const input = require("fs").readFileSync(0, "utf8");\n` +
        `process.stdout.write(String(${operation}(process.argv[1], input)));\n`;
    const result = childProcess.spawnSync("sudo", ["-n", process.execPath, "-e", source, target], {
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
                privileged("writeFileAtomic", target, text, sudoMode);
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

module.exports = { editFile, privileged, withLock, readOrNull, realFile, lockPathFor, describeFileError };
