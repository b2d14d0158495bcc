import * as fs from "fs";
import * as path from "path";
import { ConfigOption, ConfigValue, optionSections } from "./options";

/*
 * The two files written from the options table: the `config:` block of Pulumi.yaml (the last block of that file) and
 * the table of docs/configuration.md (between its two markers). `npm run options` writes them; a test compares them.
 */

const repo = path.join(__dirname, "..", "..");
export const pulumiYamlFile = path.join(repo, "Pulumi.yaml");
export const configurationDoc = path.join(repo, "docs", "configuration.md");
export const tableBegin = "<!-- options table: `npm run options` writes it from components/program/options.ts -->";
export const tableEnd = "<!-- end of the options table -->";

/** JSON is YAML: a JSON scalar or list is read back as the same value, whatever characters it holds. */
function yamlValue(value: ConfigValue): string {
    return JSON.stringify(value);
}

function description(o: ConfigOption): string {
    const secret = o.secret ? `A secret: pulumi config set --secret ${o.key}.` : "";
    return [o.doc, o.choices ? `One of ${o.choices.join(", ")}.` : "", o.unset ? `Unset: ${o.unset}.` : "", secret]
        .filter(Boolean)
        .join(" ");
}

/** The default Pulumi.yaml declares: the option's, or the empty value of its type (read by the program as unset). */
function declaredDefault(o: ConfigOption): ConfigValue {
    return o.default ?? { string: "", integer: 0, boolean: false, array: [] }[o.type];
}

/** Pulumi.yaml's `config:` block. */
export function renderConfigBlock(): string {
    const lines = [
        "config:",
        "  # Written by `npm run options` from components/program/options.ts: edit the table, not this block.",
    ];
    for (const section of optionSections) {
        lines.push(`  # --- ${section.title} ---`);
        for (const o of section.options) {
            lines.push(`  ${o.key}:`, `    type: ${o.type}`);
            if (o.type === "array") {
                lines.push("    items:", "      type: string");
            }
            lines.push(
                `    default: ${yamlValue(declaredDefault(o))}`,
                `    description: ${yamlValue(description(o))}`,
            );
        }
    }
    return lines.join("\n") + "\n";
}

function cell(text: string): string {
    return text.replace(/\|/g, "\\|");
}

function shownDefault(o: ConfigOption): string {
    if (o.default === undefined || (Array.isArray(o.default) && o.default.length === 0 && o.unset)) {
        return `unset: ${o.unset ?? "none"}`;
    }
    return `\`${JSON.stringify(o.default)}\``;
}

/** The configuration table of the docs. */
export function renderOptionsTable(): string {
    const rows = ["| key | type | default | component argument | what it does |", "| --- | --- | --- | --- | --- |"];
    for (const section of optionSections) {
        rows.push(`| **${section.title}** | | | | |`);
        for (const o of section.options) {
            const what = [o.doc, o.choices ? `One of ${o.choices.map(c => `\`${c}\``).join(", ")}.` : ""];
            if (o.secret) {
                what.push("A secret: `pulumi config set --secret`.");
            }
            rows.push(
                `| \`${o.key}\` | ${o.type} | ${cell(shownDefault(o))} | ${o.path ? `\`${o.path}\`` : "(program only)"} | ${cell(what.filter(Boolean).join(" "))} |`,
            );
        }
    }
    return rows.join("\n") + "\n";
}

/** Pulumi.yaml with its `config:` block as the table says (the block is the file's last). */
export function pulumiYamlWithConfig(text: string): string {
    const at = text.search(/^config:/m);
    return (at < 0 ? text : text.slice(0, at)) + renderConfigBlock();
}

/** docs/configuration.md with its table as the table says. */
export function configurationDocWithTable(text: string): string {
    const begin = text.indexOf(tableBegin);
    const end = text.indexOf(tableEnd);
    if (begin < 0 || end < begin) {
        throw new Error(`${configurationDoc} has lost its table markers (${tableBegin} ... ${tableEnd})`);
    }
    return text.slice(0, begin + tableBegin.length) + "\n" + renderOptionsTable() + text.slice(end);
}

if (require.main === module) {
    fs.writeFileSync(pulumiYamlFile, pulumiYamlWithConfig(fs.readFileSync(pulumiYamlFile, "utf8")));
    fs.writeFileSync(configurationDoc, configurationDocWithTable(fs.readFileSync(configurationDoc, "utf8")));
    console.log(`wrote ${path.relative(repo, pulumiYamlFile)} and ${path.relative(repo, configurationDoc)}`);
}
