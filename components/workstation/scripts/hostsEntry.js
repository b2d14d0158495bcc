"use strict";
// Adds, moves and removes this stack's line of the hosts file, touching no other byte.
// Inputs come from the environment (never from the command text): DR_HOSTS_FILE, DR_ADDRESS,
// DR_HOSTNAME, DR_OWNER, DR_SUDO. Usage: node hostsEntry.js add|remove
const net = require("net");
const { report } = require("./report");
const { describeFileError, editFile } = require("./lockedFile");

/** The comment that marks a line as ours; the owner names the stack, so two stacks never touch each other's line. */
function marker(owner) {
    return `# distribution-registry: ${owner}`;
}

function entryLine(address, hostname, owner) {
    return `${address} ${hostname} ${marker(owner)}`;
}

/** Splits text into lines that keep their "\n", so that joining them gives the same bytes back. */
function splitLines(text) {
    return text.match(/[^\n]*\n|[^\n]+$/g) || [];
}

function isOurs(line, owner) {
    return line.replace(/\r?\n$/, "").endsWith(marker(owner));
}

/**
 * Removes our line. add() puts our line last without a newline when the file did not end with one, after
 * a "\n" it added: removing such a line takes that "\n" away again, so the file comes back byte for byte.
 */
function removeEntry(text, owner) {
    const lines = splitLines(text);
    const kept = [];
    for (const line of lines) {
        if (!isOurs(line, owner)) {
            kept.push(line);
        } else if (!line.endsWith("\n") && kept.length > 0) {
            kept[kept.length - 1] = kept[kept.length - 1].replace(/\n$/, "");
        }
    }
    return kept.join("");
}

/** Adds our line, or replaces it where it stands (an address change), keeping every other byte. */
function addEntry(text, line, owner) {
    const lines = splitLines(text);
    const index = lines.findIndex(l => isOurs(l, owner));
    if (index >= 0) {
        const others = removeEntry(lines.slice(index + 1).join(""), owner);
        const replaced = lines[index].endsWith("\n") ? `${line}\n` : line;
        return lines.slice(0, index).join("") + replaced + others;
    }
    if (text === "" || text.endsWith("\n")) {
        return `${text}${line}\n`;
    }
    return `${text}\n${line}`;
}

/** An address in one spelling: "2001:DB8:0::1" and "2001:db8::1" are the same address. */
function canonicalAddress(address) {
    if (net.isIPv6(address)) {
        try {
            return new URL(`http://[${address}]/`).hostname.slice(1, -1);
        } catch (_) {
            /* a zone index: compare as written, in lower case */
        }
    }
    return address.toLowerCase();
}

/** Lines of other owners that map the hostname: the first match wins in the resolver, so they could shadow ours. */
function otherMappings(text, hostname, owner) {
    // The resolver compares host names without regard to case.
    const wanted = hostname.toLowerCase();
    return splitLines(text)
        .map((line, i) => ({ line: line.replace(/\r?\n$/, ""), number: i + 1 }))
        .filter(({ line }) => !isOurs(line, owner))
        .filter(({ line }) =>
            line
                .replace(/#.*/, "")
                .trim()
                .split(/\s+/)
                .slice(1)
                .some(h => h.toLowerCase() === wanted),
        );
}

/** Lines of other owners that map the hostname to another address: they would win over ours. */
function conflictingMappings(text, hostname, address, owner) {
    return otherMappings(text, hostname, owner).filter(
        s => canonicalAddress(s.line.trim().split(/\s+/)[0]) !== canonicalAddress(address),
    );
}

function inputs() {
    const env = process.env;
    const required = ["DR_HOSTS_FILE", "DR_HOSTNAME", "DR_OWNER"];
    for (const name of required) {
        if (!env[name]) {
            throw new Error(`${name} is not set`);
        }
    }
    if (/[\r\n]/.test(env.DR_OWNER) || /\s/.test(env.DR_HOSTNAME)) {
        throw new Error("the owner and the hostname must be single words on one line");
    }
    return {
        file: env.DR_HOSTS_FILE,
        address: env.DR_ADDRESS || "",
        hostname: env.DR_HOSTNAME,
        owner: env.DR_OWNER,
        sudo: env.DR_SUDO || "auto",
    };
}

function main(action) {
    const { file, address, hostname, owner, sudo } = inputs();
    if (action === "add") {
        if (net.isIP(address) === 0) {
            throw new Error(`address "${address}" is not an IP address; nothing was changed`);
        }
        const line = entryLine(address, hostname, owner);
        return editFile(
            file,
            current => {
                if (current === null) {
                    throw new Error(
                        `hostsFile: ${file} does not exist; nothing was changed. Set hostsFile to the right path, or hostsEntry false`,
                    );
                }
                const conflicting = conflictingMappings(current, hostname, address, owner);
                if (conflicting.length > 0) {
                    throw new Error(
                        `${file} line ${conflicting[0].number} ("${conflicting[0].line}") already maps ${hostname} to another address ` +
                            "and would win over ours; remove that line (the seed's manual entry?) and run again. Nothing was changed",
                    );
                }
                return { text: addEntry(current, line, owner), result: { file, line } };
            },
            sudo,
        );
    }
    if (action === "remove") {
        return editFile(
            file,
            current => ({
                text: current === null ? null : removeEntry(current, owner),
                result: { file, removed: true },
            }),
            sudo,
        );
    }
    throw new Error(`unknown action "${action}": use add or remove`);
}

function run(action) {
    report("hosts entry", () => {
        try {
            return main(action);
        } catch (e) {
            throw describeFileError(e, "hostsFile", process.env.DR_HOSTS_FILE, "hostsSudo");
        }
    });
}

module.exports = { main, run, addEntry, removeEntry, entryLine, otherMappings, canonicalAddress, conflictingMappings };
if (require.main === module) {
    run(process.argv[2]);
}
