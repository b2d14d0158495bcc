// Lint rules for the whole tree (`npm run lint`, part of `npm test`); Prettier owns the layout (`npm run format`).
import js from "@eslint/js";
import prettier from "eslint-config-prettier";
import globals from "globals";
import tseslint from "typescript-eslint";
import testRules from "./tests/support/eslintTestRules.js";

export default tseslint.config(
    { ignores: ["node_modules/", "bin/", "tests/consumer/"] },
    js.configs.recommended,
    ...tseslint.configs.recommended,
    {
        rules: {
            // A leading underscore says "not used on purpose": destructured-away inputs, ignored callback arguments.
            "@typescript-eslint/no-unused-vars": [
                "error",
                { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none", ignoreRestSiblings: true },
            ],
        },
    },
    {
        files: ["**/*.ts"],
        languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
        rules: {
            // A promise nobody awaits is a failure nobody sees.
            "@typescript-eslint/no-floating-promises": "error",
            "@typescript-eslint/no-misused-promises": "error",
            "@typescript-eslint/await-thenable": "error",
        },
    },
    {
        // Tests read JSON of the shapes the API server, the CLI and the registry answer with: typing every one of
        // them would be longer than the tests, and an assertion fails on the wrong shape anyway.
        // They also load modules after installing Pulumi's mocks, or from paths known only at run time: require().
        files: ["tests/**/*.ts", "bench/**/*.ts"],
        rules: { "@typescript-eslint/no-explicit-any": "off", "@typescript-eslint/no-require-imports": "off" },
    },
    {
        // Assertions that cannot fail, or that time the machine: refused in tests (bench/ is where figures go).
        // The rules and why: tests/support/eslintTestRules.js; their own tests: tests/unit/lintRules.test.ts.
        files: ["tests/**/*.ts"],
        plugins: { tests: testRules },
        rules: {
            "tests/no-to-be-defined": "error",
            "tests/no-unchecked-loop-expect": "error",
            "tests/no-time-assertions": "error",
        },
    },
    {
        // The workstation scripts and the jest reporter are CommonJS run by Node as they are.
        files: ["**/*.js"],
        languageOptions: { sourceType: "commonjs", globals: { ...globals.node } },
        rules: {
            "@typescript-eslint/no-require-imports": "off",
            // `const crypto = require("crypto")` is how a CommonJS script takes Node's module, not a redeclaration.
            "no-redeclare": ["error", { builtinGlobals: false }],
        },
    },
    prettier,
);
