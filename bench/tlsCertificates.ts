import * as childProcess from "child_process";
import { issueCertificates } from "../components/tls/certificates";
import { generateKeysScript, parseKeys } from "../components/tls/privateKeys";

/**
 * What tls "generated" costs: the keys Command's script (once per stack: two RSA 2048 keys in a fresh node), and
 * issuing the CA and server certificates from them (every run of the program).
 */
const keyRuns = Number(process.env.BENCH_RUNS ?? 5);
const issueRuns = 10;

export async function main(): Promise<void> {
    console.log(`TLS "generated": the keys script ${keyRuns} times, issuing the certificates ${issueRuns} times`);
    const milliseconds = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;
    const keyTimes: number[] = [];
    let keys = parseKeys(childProcess.execFileSync("node", ["-e", generateKeysScript], { encoding: "utf8" }));
    for (let i = 0; i < keyRuns; i++) {
        const start = process.hrtime.bigint();
        keys = parseKeys(childProcess.execFileSync("node", ["-e", generateKeysScript], { encoding: "utf8" }));
        keyTimes.push(milliseconds(start));
    }
    const issueTimes: number[] = [];
    for (let i = 0; i < issueRuns; i++) {
        const start = process.hrtime.bigint();
        await issueCertificates(keys, {
            hostname: "registry.test",
            address: "192.0.2.10",
            validityDays: 365,
            caValidityDays: 3650,
        });
        issueTimes.push(milliseconds(start));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    console.log(
        `  keys script, node start included (median): ${median(keyTimes).toFixed(0)} ms (${keyTimes.map(t => t.toFixed(0)).join(", ")})`,
    );
    console.log(
        `  CA + server certificate (median):          ${median(issueTimes).toFixed(1)} ms (first ${issueTimes[0].toFixed(1)} ms)`,
    );
}

if (require.main === module) {
    main().catch(e => {
        console.error(e);
        process.exit(1);
    });
}
