/**
 * The project's own lint rules for test files (wired in eslint.config.mjs for tests/**): each refuses a shape of
 * assertion that can pass when the feature it tests is missing. Their unit tests are tests/unit/lintRules.test.ts.
 *
 * - no-to-be-defined: `toBeDefined()` passes for every value but `undefined` (null, "", {}, a wrong object).
 * - no-unchecked-loop-expect: an `expect` inside a loop over a list (for...of, for...in, a `for` bounded by a
 *   length, forEach/map/filter/some/every/flatMap callbacks), or `expect(list.every(...))`/`.some(...)`, passes
 *   when the list is empty; the same test must pin the list's length.
 * - no-time-assertions: a duration or a clock reading in an assertion is a benchmark's figure, not a test's
 *   check (a loaded machine fails it, a fast one hides a missing feature); figures belong in bench/.
 */

/** The source text of a node with whitespace removed, so that layout does not decide whether two match. */
function textOf(context, node) {
    return context.sourceCode.getText(node).replace(/\s+/g, "");
}

function isExpectCall(node) {
    return node && node.type === "CallExpression" && node.callee.type === "Identifier" && node.callee.name === "expect";
}

/**
 * For the outermost call of a matcher chain (`expect(a).not.toBe(b)`), its parts: the expect call, the matcher's
 * name and arguments. undefined for other calls.
 */
function matcherCall(node) {
    if (node.type !== "CallExpression" || node.callee.type !== "MemberExpression" || node.callee.computed) {
        return undefined;
    }
    let object = node.callee.object;
    while (object.type === "MemberExpression") {
        // expect(a).not.x, expect(a).resolves.x, expect(a).rejects.x
        object = object.object;
    }
    if (!isExpectCall(object)) {
        return undefined;
    }
    return { expectCall: object, name: node.callee.property.name, args: node.arguments };
}

function isFunction(node) {
    return (
        node &&
        (node.type === "FunctionExpression" ||
            node.type === "ArrowFunctionExpression" ||
            node.type === "FunctionDeclaration")
    );
}

/** Every node under `root` (root included), skipping nothing. */
function walk(root, visit) {
    const stack = [root];
    while (stack.length) {
        const node = stack.pop();
        if (!node || typeof node.type !== "string") {
            continue;
        }
        visit(node);
        for (const key of Object.keys(node)) {
            if (key === "parent") {
                continue;
            }
            const value = node[key];
            if (Array.isArray(value)) {
                stack.push(...value);
            } else if (value && typeof value.type === "string") {
                stack.push(value);
            }
        }
    }
}

function contains(root, predicate) {
    let found = false;
    walk(root, node => {
        found = found || predicate(node);
    });
    return found;
}

const toBeDefined = {
    meta: {
        type: "problem",
        docs: { description: "Refuse toBeDefined(): it passes for any value but undefined." },
        schema: [],
        messages: {
            refused:
                "toBeDefined() passes for any value but undefined (null, '', a wrong object): assert the value itself " +
                "(toBe, toEqual, toMatch, toMatchObject, toBeInstanceOf, toHaveLength){{hint}}.",
        },
    },
    create(context) {
        return {
            CallExpression(node) {
                const m = matcherCall(node);
                if (m && m.name === "toBeDefined") {
                    const negated = context.sourceCode.getText(node.callee).includes(".not.");
                    context.report({
                        node,
                        messageId: "refused",
                        data: { hint: negated ? "; for absence, toBeUndefined()" : "" },
                    });
                }
            },
        };
    },
};

const loopMethods = new Set(["forEach", "map", "flatMap", "filter", "some", "every"]);
/** Methods that keep a list's length: a length check on `xs.map(f).sort()` is one on `xs`. */
const lengthKeeping = new Set(["map", "sort", "reverse", "toSorted", "toReversed"]);

/** A test registration: a function given to a call whose first argument is its name (it/test/e2e("name", fn)). */
function isTestCallback(node) {
    const call = node.parent;
    return (
        isFunction(node) &&
        call &&
        call.type === "CallExpression" &&
        call.arguments.includes(node) &&
        call.arguments[0] &&
        (call.arguments[0].type === "Literal" || call.arguments[0].type === "TemplateLiteral")
    );
}

/** Whether `body` calls expect other than inside the tests it registers. */
function assertsOutsideTests(body) {
    const stack = [body];
    while (stack.length) {
        const node = stack.pop();
        if (!node || typeof node.type !== "string" || (node !== body && isTestCallback(node))) {
            continue;
        }
        if (isExpectCall(node)) {
            return true;
        }
        for (const key of Object.keys(node)) {
            if (key !== "parent") {
                const value = node[key];
                stack.push(...(Array.isArray(value) ? value : [value]));
            }
        }
    }
    return false;
}

/** The list a loop walks, or "fixed" when its count is written in the source, or undefined when unknown. */
function iteratedList(node) {
    switch (node.type) {
        case "ForOfStatement":
        case "ForInStatement":
            return node.right;
        case "ForStatement": {
            // for (let i = 0; i < xs.length; i++) walks xs; for (let round = 0; round < 3; round++) is a count.
            let list;
            let literalBound = false;
            if (node.test) {
                walk(node.test, n => {
                    if (n.type === "MemberExpression" && !n.computed && n.property.name === "length") {
                        list = list ?? n.object;
                    }
                    if (n.type === "BinaryExpression" && (n.right.type === "Literal" || n.left.type === "Literal")) {
                        literalBound = true;
                    }
                });
            }
            return list ?? (literalBound ? "fixed" : undefined);
        }
        case "CallExpression":
            return node.callee.object;
        default:
            return undefined;
    }
}

/** An array written out in the source (no spread): its length is what the reader sees. */
function isLiteralList(node) {
    const list = withoutCasts(node);
    return list.type === "ArrayExpression" && list.elements.every(e => e && e.type !== "SpreadElement");
}

/** `[...] as const`, `xs!`, `xs satisfies T`: the expression under the type assertion. */
function withoutCasts(node) {
    let n = node;
    while (["TSAsExpression", "TSSatisfiesExpression", "TSNonNullExpression", "TSTypeAssertion"].includes(n.type)) {
        n = n.expression;
    }
    return n;
}

/** The test (or helper) a node is in: the outermost function around it, or the file. */
function enclosingTest(node) {
    let found;
    for (let n = node.parent; n; n = n.parent) {
        if (isFunction(n)) {
            found = n;
            // A callback given to it/test/e2e("name", fn) is the test: stop there.
            const call = n.parent;
            if (
                call &&
                call.type === "CallExpression" &&
                call.arguments.includes(n) &&
                call.arguments[0] &&
                (call.arguments[0].type === "Literal" || call.arguments[0].type === "TemplateLiteral")
            ) {
                return n;
            }
        }
        if (!n.parent) {
            return found ?? n;
        }
    }
    return found;
}

/** Whether `scope` holds an assertion that pins the length of the list whose text is `key`. */
function checksLength(context, scope, key) {
    return contains(scope, node => {
        const m = matcherCall(node);
        if (!m || m.expectCall.arguments.length !== 1) {
            return false;
        }
        const subject = m.expectCall.arguments[0];
        const subjectText = textOf(context, subject);
        if (subjectText === `${key}.length`) {
            return ["toBe", "toEqual", "toStrictEqual"].includes(m.name);
        }
        if (!sameListAs(context, subject, key)) {
            return false;
        }
        if (m.name === "toHaveLength") {
            return true;
        }
        return ["toEqual", "toStrictEqual"].includes(m.name) && m.args.length === 1 && isLiteralList(m.args[0]);
    });
}

/** `xs`, or `xs` through methods that keep its length (`xs.map(f).sort()`). */
function sameListAs(context, node, key) {
    if (textOf(context, node) === key) {
        return true;
    }
    if (
        node.type === "CallExpression" &&
        node.callee.type === "MemberExpression" &&
        !node.callee.computed &&
        lengthKeeping.has(node.callee.property.name)
    ) {
        return sameListAs(context, node.callee.object, key);
    }
    return false;
}

const uncheckedLoopExpect = {
    meta: {
        type: "problem",
        docs: { description: "Refuse expect in a loop over a list whose length the test never checks." },
        schema: [],
        messages: {
            loop:
                "expect inside a loop over {{list}}, whose length this test never checks: an empty list passes. " +
                "Pin it first (expect({{list}}).toHaveLength(n), or toEqual([...]) on it or on its map/sort).",
            unknown:
                "expect inside a loop over a list this rule cannot name: assign the list to a variable and check " +
                "its length (expect(list).toHaveLength(n)) in the same test.",
            quantifier:
                "expect({{list}}.{{method}}(...)) passes on an empty list: check its length in the same test " +
                "(expect({{list}}).toHaveLength(n)).",
        },
    },
    create(context) {
        function check(loop, body) {
            // A loop that registers one test per item (`for (const b of bins) it(\`runs ${b}\`, ...)`) asserts nothing
            // itself: each test is its own, and an empty list runs none rather than passing one.
            if (!assertsOutsideTests(body)) {
                return;
            }
            const list = iteratedList(loop);
            if (list === "fixed" || (list && isLiteralList(list))) {
                return;
            }
            if (!list) {
                context.report({ node: loop, messageId: "unknown" });
                return;
            }
            const key = textOf(context, list);
            if (!checksLength(context, enclosingTest(loop), key)) {
                context.report({ node: loop, messageId: "loop", data: { list: context.sourceCode.getText(list) } });
            }
        }
        return {
            ForOfStatement: node => check(node, node.body),
            ForInStatement: node => check(node, node.body),
            ForStatement: node => check(node, node.body),
            CallExpression(node) {
                if (
                    node.callee.type === "MemberExpression" &&
                    !node.callee.computed &&
                    loopMethods.has(node.callee.property.name) &&
                    isFunction(node.arguments[0])
                ) {
                    check(node, node.arguments[0].body);
                }
                // expect(xs.every(p)).toBe(true) / expect(xs.some(p)).toBe(false): vacuous on an empty xs.
                if (isExpectCall(node) && node.arguments.length === 1) {
                    const arg = node.arguments[0];
                    if (
                        arg.type === "CallExpression" &&
                        arg.callee.type === "MemberExpression" &&
                        !arg.callee.computed &&
                        ["every", "some"].includes(arg.callee.property.name)
                    ) {
                        const list = arg.callee.object;
                        if (isLiteralList(list)) {
                            return;
                        }
                        const key = textOf(context, list);
                        if (!checksLength(context, enclosingTest(node), key)) {
                            context.report({
                                node,
                                messageId: "quantifier",
                                data: { list: context.sourceCode.getText(list), method: arg.callee.property.name },
                            });
                        }
                    }
                }
            },
        };
    },
};

/** Date.now(), performance.now(), process.hrtime(), process.hrtime.bigint(), new Date(). */
function isClockReading(node) {
    if (node.type === "NewExpression") {
        return node.callee.type === "Identifier" && node.callee.name === "Date" && node.arguments.length === 0;
    }
    if (node.type !== "CallExpression") {
        return false;
    }
    const text = (function name(n) {
        if (n.type === "Identifier") {
            return n.name;
        }
        if (n.type === "MemberExpression" && !n.computed) {
            return `${name(n.object)}.${n.property.name}`;
        }
        return "";
    })(node.callee);
    return ["Date.now", "performance.now", "process.hrtime", "process.hrtime.bigint"].includes(text);
}

const timeAssertions = {
    meta: {
        type: "problem",
        docs: { description: "Refuse clock readings and durations in assertions outside bench/." },
        schema: [],
        messages: {
            refused:
                "this assertion reads the clock ({{what}}): a duration or a time is a benchmark's figure (bench/), " +
                "not a test's check. Assert the condition itself (an attempt count, an order of events, a state).",
        },
    },
    create(context) {
        return {
            "Program:exit"(program) {
                const scopeManager = context.sourceCode.scopeManager;
                // Which variable each read of a name is (scopes decide: two tests' `started` are two variables).
                const variableOf = new Map();
                for (const scope of scopeManager.scopes) {
                    for (const ref of scope.references) {
                        if (ref.resolved) {
                            variableOf.set(ref.identifier, ref.resolved);
                        }
                    }
                }
                // Property keys given a clock reading in an object literal: `{ passedAt: Date.now() }`.
                const timedKeys = new Set();
                const timedVariables = new Set();
                const timedPart = node => {
                    let what;
                    walk(node, n => {
                        if (what) {
                            return;
                        }
                        if (isClockReading(n)) {
                            what = context.sourceCode.getText(n);
                        } else if (n.type === "Identifier" && timedVariables.has(variableOf.get(n))) {
                            what = `${n.name}, read from the clock`;
                        } else if (n.type === "MemberExpression" && !n.computed && timedKeys.has(n.property.name)) {
                            what = `${context.sourceCode.getText(n)}, read from the clock`;
                        }
                    });
                    return what;
                };
                // What each variable is given: its initializer, what is assigned to it, or, destructured, the
                // property it takes (timed when that key holds a clock reading somewhere in the file).
                const sources = [];
                const keyed = [];
                for (const scope of scopeManager.scopes) {
                    for (const variable of scope.variables) {
                        for (const def of variable.defs) {
                            if (def.type !== "Variable" || !def.node.init) {
                                continue;
                            }
                            if (def.node.id === def.name) {
                                sources.push([variable, def.node.init]);
                            } else if (def.name.parent && def.name.parent.type === "Property") {
                                const key = def.name.parent.key;
                                if (key.type === "Identifier") {
                                    keyed.push([variable, key.name]);
                                }
                            }
                        }
                        for (const ref of variable.references) {
                            if (ref.writeExpr && ref.writeExpr !== (variable.defs[0] && variable.defs[0].node.init)) {
                                sources.push([variable, ref.writeExpr]);
                            }
                        }
                    }
                }
                const properties = [];
                // `runs.push(Date.now() - started)`, `timings.set(k, ms)`: the list or map now holds readings.
                const mutations = [];
                walk(program, n => {
                    if (
                        n.type === "CallExpression" &&
                        n.callee.type === "MemberExpression" &&
                        !n.callee.computed &&
                        ["push", "unshift", "set", "add"].includes(n.callee.property.name)
                    ) {
                        let root = n.callee.object;
                        while (root.type === "MemberExpression") {
                            root = root.object;
                        }
                        const variable = root.type === "Identifier" && variableOf.get(root);
                        if (variable) {
                            mutations.push([variable, n.arguments]);
                        }
                    }
                    if (
                        n.type === "Property" &&
                        n.parent.type === "ObjectExpression" &&
                        !n.computed &&
                        n.key.type === "Identifier"
                    ) {
                        properties.push(n);
                    }
                });
                // To a fixed point: `const elapsed = Date.now() - started` is timed because `started` is.
                for (let changed = true; changed;) {
                    changed = false;
                    for (const [variable, value] of sources) {
                        if (!timedVariables.has(variable) && timedPart(value)) {
                            timedVariables.add(variable);
                            changed = true;
                        }
                    }
                    for (const [variable, key] of keyed) {
                        if (!timedVariables.has(variable) && timedKeys.has(key)) {
                            timedVariables.add(variable);
                            changed = true;
                        }
                    }
                    for (const [variable, args] of mutations) {
                        if (!timedVariables.has(variable) && args.some(a => timedPart(a))) {
                            timedVariables.add(variable);
                            changed = true;
                        }
                    }
                    for (const p of properties) {
                        if (!timedKeys.has(p.key.name) && timedPart(p.value)) {
                            timedKeys.add(p.key.name);
                            changed = true;
                        }
                    }
                }
                walk(program, node => {
                    const m = matcherCall(node);
                    if (!m) {
                        return;
                    }
                    for (const part of [...m.expectCall.arguments, ...m.args]) {
                        const what = timedPart(part);
                        if (what) {
                            context.report({ node, messageId: "refused", data: { what } });
                            return;
                        }
                    }
                });
            },
        };
    },
};

module.exports = {
    meta: { name: "distribution-registry-tests" },
    rules: {
        "no-to-be-defined": toBeDefined,
        "no-unchecked-loop-expect": uncheckedLoopExpect,
        "no-time-assertions": timeAssertions,
    },
};
