import * as fs from "fs";
import * as path from "path";
import * as components from "../../components";
import { defaults } from "../../components/defaults";
import { options } from "../../components/program/options";
import {
    configurationDoc,
    configurationDocWithTable,
    pulumiYamlFile,
    pulumiYamlWithConfig,
} from "../../components/program/optionsFiles";
import { declaredInterfaces, referencedName } from "../support/argsDeclarations";

/*
 * The options table is the one place a config key, its argument path, type, default and choices are written: these
 * tests fail when a file that is derived from it, or a default it shows, drifts from it.
 */

const repo = path.join(__dirname, "..", "..");
const interfaces = declaredInterfaces();
const enums = components as unknown as Record<string, unknown>;

/** Every leaf of the component's defaults, by argument path ("resources.limits.memory"). */
function defaultLeaves(): Map<string, unknown> {
    const leaves = new Map<string, unknown>();
    const walk = (node: unknown, at: string) => {
        if (node && typeof node === "object" && !Array.isArray(node)) {
            for (const [k, v] of Object.entries(node)) {
                walk(v, at ? `${at}.${k}` : k);
            }
        } else {
            leaves.set(at, node);
        }
    };
    walk(defaults, "");
    return leaves;
}

/** The interface property an argument path names, and the part of the path inside a Record-typed property. */
function declarationAt(argumentPath: string) {
    let current = "DistributionRegistryArgs";
    const parts = argumentPath.split(".");
    for (let i = 0; i < parts.length; i++) {
        const declared = interfaces.get(current)?.get(parts[i]);
        if (!declared) {
            throw new Error(`${argumentPath}: ${current} has no property ${parts[i]}`);
        }
        const next = referencedName(declared.type);
        if (i === parts.length - 1 || next === "Record") {
            return { declared, name: parts[i], inRecord: parts.slice(i + 1) };
        }
        current = next;
    }
    throw new Error(`unreachable: ${argumentPath}`);
}

/** A default as args.ts's JSDoc writes it: "nginx" quoted, [{ source: "nginx" }], 443. */
function literal(value: unknown): string {
    if (Array.isArray(value)) {
        return `[${value.map(literal).join(", ")}]`;
    }
    if (value && typeof value === "object") {
        return `{ ${Object.entries(value)
            .map(([k, v]) => `${k}: ${literal(v)}`)
            .join(", ")} }`;
    }
    return typeof value === "string" ? JSON.stringify(value) : String(value);
}

describe("the options table", () => {
    test("Pulumi.yaml's config block is the one the table writes (run `npm run options` after editing the table)", () => {
        const text = fs.readFileSync(pulumiYamlFile, "utf8");
        expect(text).toBe(pulumiYamlWithConfig(text));
        // Every key once, in the table's order.
        const declared = [...text.slice(text.search(/^config:/m)).matchAll(/^ {2}([A-Za-z][A-Za-z0-9]*):$/gm)].map(
            m => m[1],
        );
        expect(declared).toEqual(options.map(o => o.key));
    });

    test("docs/configuration.md's table is the one the table writes (run `npm run options` after editing the table)", () => {
        const text = fs.readFileSync(configurationDoc, "utf8");
        expect(text).toBe(configurationDocWithTable(text));
        expect(options.filter(o => !text.includes(`| \`${o.key}\` |`)).map(o => o.key)).toEqual([]);
    });

    test("keys and argument paths are unique, and every path is an argument of the component", () => {
        expect(new Set(options.map(o => o.key)).size).toBe(options.length);
        const paths = options.filter(o => o.path).map(o => o.path!);
        expect(new Set(paths).size).toBe(paths.length);
        const undeclared = paths.filter(p => {
            try {
                declarationAt(p);
                return false;
            } catch (_) {
                return true;
            }
        });
        expect(undeclared).toEqual([]);
    });

    test("a default the table shows as the argument's own is the component's (read from defaults.ts, not retyped)", () => {
        const leaves = defaultLeaves();
        const compared = options.filter(o => o.path && leaves.has(o.path) && o.toArgument === undefined);
        // Not a vacuous comparison: most options carry a component default.
        expect(compared.length).toBeGreaterThanOrEqual(25);
        expect(Object.fromEntries(compared.map(o => [o.key, o.default]))).toEqual(
            Object.fromEntries(compared.map(o => [o.key, leaves.get(o.path!)])),
        );
    });

    test("every default the component applies can be set from config (a row has its path)", () => {
        const paths = new Set(options.map(o => o.path));
        const missing = [...defaultLeaves().keys()].filter(p => !paths.has(p));
        expect(missing).toEqual([]);
    });

    test("args.ts's JSDoc states each default as defaults.ts has it", () => {
        const leaves = [...defaultLeaves()];
        expect(leaves.length).toBeGreaterThanOrEqual(30);
        const wrong: string[] = [];
        for (const [argumentPath, value] of leaves) {
            const { declared, inRecord } = declarationAt(argumentPath);
            // Inside a map (resources.requests): the property's JSDoc names each entry, `cpu "50m"`.
            const stated = inRecord.length ? `${inRecord.join(".")} ${literal(value)}` : `Default: ${literal(value)}`;
            if (!declared.doc.includes(stated)) {
                wrong.push(`${argumentPath}: JSDoc "${declared.doc}" does not say ${stated}`);
            }
        }
        expect(wrong).toEqual([]);
    });

    test("a choice option lists the values of the enum its argument is typed with, and only such options do", () => {
        const checked: string[] = [];
        const expected: Record<string, unknown> = {};
        const found: Record<string, unknown> = {};
        for (const o of options.filter(o => o.path)) {
            const { declared } = declarationAt(o.path!);
            const typeName = referencedName(declared.type);
            const enumObject = enums[typeName];
            const isEnum = typeof enumObject === "object" && enumObject !== null && !interfaces.has(typeName);
            found[o.key] = o.choices;
            expected[o.key] = isEnum ? Object.values(enumObject as Record<string, string>) : undefined;
            if (isEnum) {
                checked.push(o.key);
            }
        }
        expect(found).toEqual(expected);
        expect(checked.sort()).toEqual(
            ["dockerSudo", "dockerTrust", "hostsSudo", "pushTool", "storageAccessMode", "storageType", "tls"].sort(),
        );
    });
});

describe("the layout", () => {
    const sourceFiles = (dir: string): string[] =>
        fs
            .readdirSync(dir, { withFileTypes: true })
            .flatMap(e =>
                e.isDirectory()
                    ? sourceFiles(path.join(dir, e.name))
                    : e.name.endsWith(".ts")
                      ? [path.join(dir, e.name)]
                      : [],
            );
    const componentFiles = sourceFiles(path.join(repo, "components")).filter(
        f => !f.includes(`${path.sep}program${path.sep}`) && f !== path.join(repo, "components", "index.ts"),
    );

    test("the component imports nothing of the program's side (components/program/)", () => {
        expect(componentFiles.length).toBeGreaterThan(20);
        const offenders = componentFiles.filter(f => /from\s+"[./]*program(\/|")/.test(fs.readFileSync(f, "utf8")));
        expect(offenders).toEqual([]);
    });

    test("choices are compared through their enums, never as string literals again", () => {
        const values = [
            "StorageType",
            "StorageAccessMode",
            "SudoMode",
            "TlsMode",
            "DockerTrustMode",
            "PushTool",
        ].flatMap(e => Object.values(enums[e] as Record<string, string>));
        const pattern = new RegExp(`[!=]==\\s*"(${values.join("|")})"|"(${values.join("|")})"\\s*[!=]==`);
        // verification/ compares TlsSettings.mode ("insecure" | "ca" | "system"): the checks' own values, kept in their
        // state, which only share spellings with DockerTrustMode.
        const offenders = componentFiles
            .filter(f => !f.endsWith("args.ts") && !f.includes(`${path.sep}verification${path.sep}`))
            .flatMap(f =>
                fs
                    .readFileSync(f, "utf8")
                    .split("\n")
                    .map((line, i) => ({ line, at: `${path.relative(repo, f)}:${i + 1}` }))
                    .filter(({ line }) => pattern.test(line))
                    .map(({ line, at }) => `${at}: ${line.trim()}`),
            );
        expect(offenders).toEqual([]);
    });
});
