/** Unit tests (mocks) and real-parts integration tests; the engine end-to-end test has its own runner (npm run test:e2e). */
module.exports = {
    preset: "ts-jest",
    testEnvironment: "node",
    roots: ["<rootDir>/tests"],
    testMatch: ["**/*.test.ts"],
    // The engine end-to-end test needs tools built from Go modules: `npm run test:e2e` runs it.
    testPathIgnorePatterns: ["/node_modules/", "/tests/engine/"],
    testTimeout: 60000,
    // Each file starts real processes on its own ports; two at a time suits a 2-core machine.
    maxWorkers: 2,
    reporters: ["default", "<rootDir>/tests/support/summaryReporter.js"],
};
