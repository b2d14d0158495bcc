import * as childProcess from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { copyProgramSources } from "../support/programSources";

/*
 * How `pulumi up` runs the program (Pulumi.yaml: typescript false, nodeargs --require runCompiled.js): node, preloaded
 * with runCompiled.js, requires index.ts as the language host does, in a copy of the project. The first run compiles
 * (type-checked); a run whose sources did not change loads no TypeScript at all; a changed source compiles again, and
 * a type error stops the run with tsc's message.
 */

const repo = path.join(__dirname, "..", "..");
let project: string;

beforeAll(() => {
    project = fs.mkdtempSync(path.join(os.tmpdir(), "dr-compiled-"));
    copyProgramSources(project);
});
afterAll(() => fs.rmSync(project, { recursive: true, force: true }));

/** The node arguments Pulumi.yaml gives the language host. */
function nodeargs(): string[] {
    const m = /^ {4}nodeargs: (.*)$/m.exec(fs.readFileSync(path.join(repo, "Pulumi.yaml"), "utf8"));
    return m ? m[1].split(" ") : [];
}

/**
 * Loads the program as run.js does (require of the main), and says what it ran: whether ts-node was loaded, and which
 * of the project's own modules were loaded other than as compiled JavaScript, and whether the TypeScript compiler or
 * npm's Arborist were (@pulumi/pulumi loads both, for its closure serializer, unless loadOnUse.js defers them).
 */
function loadProgram(): Promise<{
    status: number | null;
    stderr: string;
    program: string;
    tsNode: boolean;
    uncompiled: string[];
    serializerLoaded: boolean;
}> {
    const script = [
        "const path = require('path');",
        "const program = require(path.resolve('index.ts'));",
        "const modules = Object.keys(require.cache);",
        "const ours = modules.filter(k => !k.includes('node_modules') && !k.includes(path.sep + 'bin' + path.sep + 'program-'));",
        "const tsNode = modules.some(k => k.includes(path.join('node_modules', 'ts-node')));",
        "const serializerLoaded = modules.some(k => k.endsWith(path.join('typescript', 'lib', 'typescript.js'))) || modules.filter(k => k.includes(path.join('@npmcli', 'arborist'))).length > 1;",
        "process.stdout.write(JSON.stringify({ program: typeof program, tsNode, uncompiled: ours.map(k => path.relative(process.cwd(), k)).sort(), serializerLoaded }));",
    ].join("\n");
    return new Promise(resolve => {
        const child = childProcess.spawn(process.execPath, [...nodeargs(), "-e", script], { cwd: project });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", d => (stdout += d));
        child.stderr.on("data", d => (stderr += d));
        child.on("close", status => {
            const result =
                status === 0
                    ? JSON.parse(stdout)
                    : { program: "", tsNode: false, uncompiled: [], serializerLoaded: false };
            resolve({ status, stderr, ...result });
        });
    });
}

const builds = () => fs.readdirSync(path.join(project, "bin")).filter(f => f.startsWith("program-"));

describe("the program as pulumi up runs it: compiled JavaScript, compiled again when a source changes", () => {
    test("Pulumi.yaml runs index.ts without ts-node, preloading runCompiled.js", () => {
        const yaml = fs.readFileSync(path.join(repo, "Pulumi.yaml"), "utf8");
        expect(yaml).toMatch(/^ {4}typescript: false$/m);
        expect(nodeargs()).toEqual(["--require", "./components/program/runCompiled.js"]);
        expect(yaml).toMatch(/^main: index\.ts$/m);
    });

    test("the first run compiles; the next loads the compiled program, no ts-node, and no source but the entry", async () => {
        const first = await loadProgram();
        expect({ status: first.status, program: first.program }).toEqual({ status: 0, program: "function" });
        expect(first.stderr).toContain("compiling them (tsc)");
        expect(builds()).toHaveLength(1);
        const second = await loadProgram();
        // index.ts is only the name run.js requires: its module is the compiled one's exports.
        expect(second).toEqual({
            status: 0,
            stderr: "",
            program: "function",
            tsNode: false,
            uncompiled: [
                "index.ts",
                "components/program/runCompiled.js",
                "components/program/build.js",
                "components/program/loadOnUse.js",
            ].sort(),
            serializerLoaded: false,
        });
    }, 120000);

    test("the build brings the checks' providers serialized: the text a run from the sources makes (here through loadOnUse's stand-ins), and constructing the checks serializes nothing", async () => {
        const script = [
            "const path = require('path');",
            "const pulumi = require('@pulumi/pulumi');",
            "const seen = {};",
            "let serialized = 0;",
            "const serializeFunction = pulumi.runtime.serializeFunction;",
            "pulumi.runtime.serializeFunction = (...args) => { serialized++; return serializeFunction(...args); };",
            "pulumi.runtime.setMocks({ newResource: a => { seen[a.type] = a.inputs.__provider; return { id: a.name, state: a.inputs }; }, call: a => a.inputs }, 'p', 's', false);",
            "const checks = require(path.resolve('components/verification/registryChecks.ts'));",
            "const target = { hostname: 'h', address: '127.0.0.1', port: 443, username: 'u', password: 'p', tls: { mode: 'insecure' } };",
            "new checks.CatalogCheck('c', { ...target, repositories: ['r'], deadlineSeconds: 1 });",
            "new checks.TagsCheck('t', { ...target, repository: 'r', tags: ['1'], deadlineSeconds: 1, deleteRemovedImages: false });",
            "setTimeout(async () => {",
            "    const serializedAtConstruction = serialized;",
            "    const made = {};",
            "    const { serializeProvider } = require(path.resolve('components/verification/providerText.ts'));",
            "    for (const [key, provider] of Object.entries(checks.checkProviders)) {",
            "        made[key] = await serializeProvider(provider);",
            "    }",
            "    const requireFromString = require(require.resolve('require-from-string', { paths: [require.resolve('@pulumi/pulumi')] }));",
            "    const methods = Object.values(seen).map(text => Object.keys(requireFromString(text).handler()).sort());",
            "    process.stdout.write(JSON.stringify({ serializedAtConstruction, seen, made, methods }));",
            "}, 500);",
        ].join("\n");
        // A script file, not `node -e`: eval mode makes the built-in modules globals, which the serializer then
        // takes for captured variables.
        fs.writeFileSync(path.join(project, "construct-checks.js"), script);
        const result = childProcess.spawnSync(process.execPath, [...nodeargs(), "construct-checks.js"], {
            cwd: project,
            encoding: "utf8",
        });
        // (The serializer, run at the end for the comparison, loads every built-in module: node warns of some.)
        expect({ status: result.status, error: /error/i.test(result.stderr) }).toEqual({ status: 0, error: false });
        const { serializedAtConstruction, seen, made, methods } = JSON.parse(result.stdout);
        // The dynamic-provider host's way in (cmd/dynamic-provider: requireFromString(text).handler()).
        expect(methods).toEqual([
            ["check", "create", "diff", "update"],
            ["check", "create", "delete", "diff", "update"],
        ]);
        expect(serializedAtConstruction).toBe(0);
        expect(made.catalog).toContain("exports.handler");
        expect(seen).toEqual({
            "pulumi-nodejs:dynamic/registry:CatalogCheck": made.catalog,
            "pulumi-nodejs:dynamic/registry:TagsCheck": made.tags,
        });
    }, 120000);

    test("loadOnUse: a module loads when first used, then is the real one; a missing or loaded module is left alone", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dr-load-on-use-"));
        try {
            fs.writeFileSync(
                path.join(dir, "heavy.js"),
                "globalThis.heavyLoads = (globalThis.heavyLoads || 0) + 1;\nexports.answer = () => 42;\n",
            );
            fs.writeFileSync(
                path.join(dir, "user.js"),
                "const heavy = require('./heavy');\nexports.ask = () => heavy.answer();\n",
            );
            const script = [
                `const { loadOnUse } = require(${JSON.stringify(path.join(repo, "components", "program", "loadOnUse.js"))});`,
                "const path = require('path');",
                "const heavy = path.join(__dirname, 'heavy.js');",
                "const deferred = loadOnUse(heavy);",
                "const user = require('./user');",
                "const loadsBeforeUse = globalThis.heavyLoads || 0;",
                "const answer = user.ask();",
                "const again = loadOnUse(heavy);",
                "const missing = loadOnUse(path.join(__dirname, 'absent.js'));",
                "process.stdout.write(JSON.stringify({ deferred, loadsBeforeUse, answer, loads: globalThis.heavyLoads, again, missing, keys: Object.keys(require('./heavy')) }));",
            ].join("\n");
            fs.writeFileSync(path.join(dir, "main.js"), script);
            const result = childProcess.spawnSync(process.execPath, [path.join(dir, "main.js")], { encoding: "utf8" });
            expect(result.stderr).toBe("");
            expect(JSON.parse(result.stdout)).toEqual({
                deferred: true,
                loadsBeforeUse: 0,
                answer: 42,
                loads: 1,
                again: false,
                missing: false,
                keys: ["answer"],
            });
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    test("a changed source compiles again; two runs at once both get a whole build", async () => {
        const file = path.join(project, "components", "naming.ts");
        fs.appendFileSync(file, "\n// changed\n");
        const [a, b] = await Promise.all([loadProgram(), loadProgram()]);
        expect([a.status, b.status, a.program, b.program]).toEqual([0, 0, "function", "function"]);
        expect(builds()).toHaveLength(2);
    }, 120000);

    test("a type error stops the run with tsc's message, and nothing of that build is left", async () => {
        const file = path.join(project, "components", "naming.ts");
        const before = fs.readFileSync(file, "utf8");
        fs.appendFileSync(file, '\nexport const broken: number = "not a number";\n');
        const run = await loadProgram();
        fs.writeFileSync(file, before);
        expect(run.status).toBe(1);
        expect(run.stderr).toMatch(/components\/naming\.ts\(\d+,\d+\): error TS2322: Type 'string' is not assignable/);
        expect(run.stderr).toContain("error: the program does not build: the errors are above");
        expect(fs.readdirSync(path.join(project, "bin")).filter(f => f.startsWith(".building-"))).toEqual([]);
        expect(builds()).toHaveLength(2);
    }, 120000);
});
