import { RuleTester } from "eslint";
import * as tseslint from "typescript-eslint";

// The project's lint rules for tests (eslint.config.mjs), each shown refusing the shape it exists for and
// accepting the sound form beside it. RuleTester makes one jest test per case.
const plugin = require("../support/eslintTestRules.js");

const tester = new RuleTester({ languageOptions: { parser: tseslint.parser as any, sourceType: "module" } });

describe("tests/no-to-be-defined", () => {
    tester.run("no-to-be-defined", plugin.rules["no-to-be-defined"], {
        valid: [
            'test("x", () => { expect(secret.stringData).toEqual({ htpasswd: "a" }); });',
            'test("x", () => { expect(value).toBeUndefined(); });',
            // Not an assertion: a method of the same name on something else.
            "registry.toBeDefined();",
        ],
        invalid: [
            {
                code: 'test("x", () => { expect(secret?.inputs.stringData).toBeDefined(); });',
                errors: [{ messageId: "refused" }],
            },
            { code: 'test("x", () => { expect(v).not.toBeDefined(); });', errors: [{ messageId: "refused" }] },
        ],
    });
});

describe("tests/no-unchecked-loop-expect", () => {
    tester.run("no-unchecked-loop-expect", plugin.rules["no-unchecked-loop-expect"], {
        valid: [
            // The length is pinned in the same test.
            'test("x", () => { const xs = list(); expect(xs).toHaveLength(3); for (const x of xs) { expect(x).toBe(1); } });',
            'test("x", () => { const xs = list(); expect(xs.length).toBe(2); xs.forEach(x => expect(x).toBe(1)); });',
            // An exact list of names pins the length of the list it was mapped from.
            'test("x", () => { const cs = list(); expect(cs.map(c => c.name).sort()).toEqual(["a", "b"]); for (const c of cs) { expect(c.ok).toBe(true); } });',
            // A list written out in the source, with or without a cast, and a counted loop.
            'test("x", () => { for (const f of ["a", "b"] as const) { expect(f).toMatch(/./); } });',
            'test("x", () => { for (let round = 0; round < 3; round++) { expect(round).toBeLessThan(3); } });',
            'test("x", () => { const ks = Object.keys(o); expect(ks).toHaveLength(2); expect(ks.every(k => k.startsWith("a"))).toBe(true); });',
            // A loop that registers a test per item: each test asserts for itself.
            "for (const b of binaries) { it(`runs ${b}`, () => { expect(run(b)).toBe(0); }); }",
            // No assertion in the loop.
            'test("x", () => { for (const x of xs) { total += x; } expect(total).toBe(3); });',
        ],
        invalid: [
            {
                code: 'test("x", () => { const xs = list(); for (const x of xs) { expect(x).toBe(1); } });',
                errors: [{ messageId: "loop" }],
            },
            {
                // arrayContaining or a lower bound does not pin the length.
                code: 'test("x", () => { const xs = list(); expect(xs).toEqual(expect.arrayContaining(["a"])); expect(xs.length).toBeGreaterThan(1); xs.forEach(x => { expect(x).toBe("a"); }); });',
                errors: [{ messageId: "loop" }],
            },
            {
                // The length of another list (or of the unfiltered one) is not this list's.
                code: 'test("x", () => { expect(rs).toHaveLength(4); for (const r of rs.filter(r => r.ok)) { expect(r.name).toBe("a"); } });',
                errors: [{ messageId: "loop" }],
            },
            {
                code: 'test("x", () => { for (let i = 0; i < xs.length; i++) { expect(xs[i]).toBe(1); } });',
                errors: [{ messageId: "loop" }],
            },
            {
                code: 'test("x", () => { while (more()) { for (const k in o) { expect(o[k]).toBe(1); } } });',
                errors: [{ messageId: "loop" }],
            },
            {
                code: 'test("x", () => { expect(Object.keys(o).every(k => k.startsWith("a"))).toBe(true); });',
                errors: [{ messageId: "quantifier" }],
            },
            {
                code: 'test("x", () => { expect(kinds.some(k => k.includes("Namespace"))).toBe(false); });',
                errors: [{ messageId: "quantifier" }],
            },
        ],
    });
});

describe("tests/no-time-assertions", () => {
    tester.run("no-time-assertions", plugin.rules["no-time-assertions"], {
        valid: [
            // A clock reading kept as a figure, never asserted; and an assertion on a count.
            'test("x", async () => { const started = Date.now(); await run(); figures.up = Date.now() - started; expect(counter.requests).toBe(1); });',
            // Another test's variable of the same name is another variable.
            'test("a", () => { const started = Date.now(); log(started); }); test("b", async () => { const started = await raw(); expect(started.status).toBe(201); });',
            // Dates the test wrote down itself are data, not the clock.
            'test("x", () => { const at = new Date("2026-01-01T00:00:00Z"); expect(renewAt(at).getTime()).toBeGreaterThan(at.getTime()); });',
        ],
        invalid: [
            {
                code: 'test("x", async () => { const started = Date.now(); await check(); expect(Date.now() - started).toBeLessThan(2000); });',
                errors: [{ messageId: "refused" }],
            },
            {
                code: 'test("x", async () => { const t0 = performance.now(); await check(); const elapsed = performance.now() - t0; expect(elapsed).toBeLessThan(5); });',
                errors: [{ messageId: "refused" }],
            },
            {
                code: 'test("x", () => { const t = process.hrtime.bigint(); expect(t).toBeGreaterThan(0n); });',
                errors: [{ messageId: "refused" }],
            },
            {
                // Through an object's property and destructuring, as `{ passedAt: Date.now() }` then `{ passedAt } = ...`.
                code: 'test("x", async () => { const check = go().then(d => ({ d, passedAt: Date.now() })); const { passedAt } = await check; expect(passedAt).toBeLessThan(limit); });',
                errors: [{ messageId: "refused" }],
            },
            {
                // Through a list the readings were pushed to.
                code: 'test("x", () => { const runs = []; const s = Date.now(); runs.push(Date.now() - s); expect(median(runs)).toBeGreaterThan(0); });',
                errors: [{ messageId: "refused" }],
            },
            {
                code: 'test("x", () => { expect(Math.abs(Date.now() - created.getTime())).toBeLessThan(60000); });',
                errors: [{ messageId: "refused" }],
            },
            {
                code: 'test("x", () => { expect(created.getTime()).toBeLessThanOrEqual(new Date().getTime()); });',
                errors: [{ messageId: "refused" }],
            },
        ],
    });
});
