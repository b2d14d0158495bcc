"use strict";
// Docker's daemon.json edited as text: the "insecure-registries" list of the root object gains or loses one
// registry, and every other byte (keys, order, spacing, a UTF-8 byte order mark) stays as it was.
// Reads every form dockerd reads: an empty or blank file (no settings) and a leading UTF-8 BOM.
// Our own small scanner rather than a library (e.g. jsonc-parser): the scripts run as `node -e` text with
// their local modules inlined into each Command's state, and one key of the root object is all we edit.
const insecureKey = "insecure-registries";
const bom = "\ufeff";

/** Positions of the JSON values in text (already known to be valid JSON): enough to insert and cut items by hand. */
function scan(text) {
    let i = 0;
    const ws = () => {
        while (i < text.length && /\s/.test(text[i])) i++;
    };
    const string = () => {
        const start = i++;
        while (text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
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
        if (text[i] === '"') {
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
 * the one before it. Inverse of how addRegistry inserts, so add then remove gives the same bytes.
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

/** An error about daemon.json's content; problem and fix are kept apart for the preview's check. */
function daemonConfigError(file, problem, fix) {
    const error = new Error(`dockerDaemonConfig ${file} ${problem}; it was left untouched. ${fix}`);
    error.problem = problem;
    error.fix = fix;
    return error;
}

/**
 * Reads daemon.json text as dockerd does. Returns { prefix, body, blank, root, member } where prefix is a
 * BOM (or ""), body the rest, blank true for a file with no settings, root the scanned object and member
 * its "insecure-registries" item (or undefined). Errors name the config key and the fix.
 */
function parseDaemonConfig(text, file) {
    const prefix = text.startsWith(bom) ? bom : "";
    const body = text.slice(prefix.length);
    if (body.trim() === "") {
        return { prefix, body, blank: true, root: null, member: undefined };
    }
    let parsed;
    try {
        parsed = JSON.parse(body);
    } catch (e) {
        throw daemonConfigError(
            file,
            `is not valid JSON (${e.message})`,
            "Fix it (dockerd will not start with it either) and run again",
        );
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
        throw daemonConfigError(file, "is not a JSON object", "Make it an object, e.g. {}, and run again");
    }
    if (
        parsed[insecureKey] !== undefined &&
        (!Array.isArray(parsed[insecureKey]) || !parsed[insecureKey].every(r => typeof r === "string"))
    ) {
        throw daemonConfigError(
            file,
            `has "${insecureKey}" that is not a list of strings`,
            'Make it a list of registries, e.g. ["registry.test"], and run again',
        );
    }
    const root = scan(body);
    const members = root.items.filter(m => m.key === insecureKey);
    if (members.length > 1) {
        throw daemonConfigError(
            file,
            `has "${insecureKey}" ${members.length} times, and dockerd reads only the last`,
            "Merge them into one list and run again",
        );
    }
    return { prefix, body, blank: false, root, member: members[0] };
}

/** The registries daemon.json lists as insecure. */
function listedRegistries(text, file) {
    const parsed = parseDaemonConfig(text, file);
    return parsed.member ? parsed.member.value.items.map(e => e.value.value) : [];
}

/** Adds registry to insecure-registries. Returns the new text and what was added ("key", "element" or null). */
function addRegistry(text, registry, file) {
    const { prefix, body, blank, root, member } = parseDaemonConfig(text, file);
    const quoted = JSON.stringify(registry);
    if (blank) {
        return { text: `${prefix}{\n  ${JSON.stringify(insecureKey)}: [${quoted}]\n}\n`, added: "key" };
    }
    if (!member) {
        const insertion = `\n  ${JSON.stringify(insecureKey)}: [${quoted}]${root.items.length > 0 ? "," : ""}`;
        return { text: prefix + body.slice(0, root.start + 1) + insertion + body.slice(root.start + 1), added: "key" };
    }
    const list = member.value;
    if (list.items.some(e => e.value.value === registry)) {
        return { text, added: null };
    }
    if (list.items.length === 0) {
        return { text: prefix + body.slice(0, list.start + 1) + quoted + body.slice(list.start + 1), added: "element" };
    }
    const last = list.items[list.items.length - 1];
    return { text: `${prefix}${body.slice(0, last.end)}, ${quoted}${body.slice(last.end)}`, added: "element" };
}

/** Removes registry from the list; with removeKey, the whole key when the list is then empty. */
function removeRegistry(text, registry, removeKey, file) {
    const { prefix, body, blank, root, member } = parseDaemonConfig(text, file);
    if (blank || !member) {
        return text;
    }
    const list = member.value;
    const elementIndex = list.items.findIndex(e => e.value.value === registry);
    const left = list.items.length - (elementIndex >= 0 ? 1 : 0);
    if (removeKey && left === 0) {
        return prefix + cutItem(body, root, root.items.indexOf(member));
    }
    return elementIndex < 0 ? text : prefix + cutItem(body, list, elementIndex);
}

/** Whether the text holds no setting at all: an empty object, or a blank file. */
function holdsNothing(text, file) {
    const { blank, root } = parseDaemonConfig(text, file);
    return blank || root.items.length === 0;
}

module.exports = { insecureKey, parseDaemonConfig, listedRegistries, addRegistry, removeRegistry, holdsNothing };
