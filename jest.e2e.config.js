/** The engine end-to-end test: the real Pulumi CLI and providers against a local Kubernetes API server (npm run test:e2e). */
module.exports = {
    preset: "ts-jest",
    testEnvironment: "node",
    roots: ["<rootDir>/tests/engine"],
    testMatch: ["**/*.test.ts"],
    testTimeout: 900000,
    maxWorkers: 1,
    // A client a failed test left running must not keep jest, and with it the machine's real-node lock, forever:
    // every test file stops its cluster in afterAll, then jest exits.
    forceExit: true,
    reporters: ["default", "<rootDir>/tests/support/summaryReporter.js"],
};
