// Builds the program (index.ts) under Pulumi mocks and prints how long loading and construction took.
import { performance } from "perf_hooks";

const started = performance.now();
const { installMocks, settled } = require("../tests/unit/mocks");
const registered = installMocks();
process.env.PULUMI_CONFIG = JSON.stringify({
    "distribution-registry:address": "192.0.2.10",
    "distribution-registry:username": "admin",
    "distribution-registry:password": "bench-password",
});
require("@pulumi/pulumi").runtime.setAllConfig(JSON.parse(process.env.PULUMI_CONFIG));
const loaded = performance.now();
// The program exports an async function, as the Node.js language host runs it.
Promise.resolve(require("../index")())
    .then(() => settled(registered))
    .then(() => {
        // settled() waits 100 ms of quiet to be sure registrations stopped: not part of construction.
        const construct = performance.now() - loaded - 100;
        process.stdout.write(
            `${JSON.stringify({ load: loaded - started, construct, resources: registered.length })}\n`,
        );
        process.exit(0);
    })
    .catch((e: unknown) => {
        process.stderr.write(`${(e as Error).stack ?? e}\n`);
        process.exit(1);
    });
