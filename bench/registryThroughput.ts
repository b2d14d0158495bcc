import * as http from "http";
import * as bcrypt from "bcryptjs";
import { renderHtpasswd } from "../components/htpasswd";
import { renderRegistryConfig } from "../components/registryConfig";
import { settingsFromArgs } from "../components/settings";
import { startRegistry } from "../tests/support/registryProcess";

/**
 * Requests per second on /v2/_catalog against the real registry binary, with the htpasswd the component
 * renders, with a bcryptjs-default (cost 10) hash, and with no auth: the price of the bcrypt cost per request.
 */
const username = "bench";
const password = "bench-password";
const clients = 4;
const seconds = Number(process.env.BENCH_SECONDS ?? 4);

async function requestsPerSecond(url: string, auth?: string): Promise<number> {
    const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
    const get = () =>
        new Promise<number>((resolve, reject) => {
            http.get(`${url}/v2/_catalog`, { agent, auth }, res => {
                res.resume();
                res.on("end", () => resolve(res.statusCode ?? 0));
            }).on("error", reject);
        });
    // Warm-up: connections open, the registry's caches filled.
    await Promise.all(Array.from({ length: clients }, get));
    let done = 0;
    const started = process.hrtime.bigint();
    const end = Date.now() + seconds * 1000;
    await Promise.all(
        Array.from({ length: clients }, async () => {
            while (Date.now() < end) {
                const status = await get();
                if (status !== 200) {
                    throw new Error(`GET /v2/_catalog answered ${status}`);
                }
                done++;
            }
        }),
    );
    const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
    agent.destroy();
    return done / elapsed;
}

async function measure(label: string, htpasswd: string | undefined): Promise<number> {
    const registry = await startRegistry({
        config: renderRegistryConfig(settingsFromArgs("bench", {})),
        htpasswd,
        env: { REGISTRY_HTTP_SECRET: "bench" },
    });
    try {
        const rate = await requestsPerSecond(
            registry.url,
            htpasswd === undefined ? undefined : `${username}:${password}`,
        );
        console.log(`  ${label.padEnd(44)} ${rate.toFixed(0).padStart(6)} req/s`);
        return rate;
    } finally {
        await registry.stop();
    }
}

export async function main(): Promise<void> {
    console.log(
        `Registry throughput: docker-registry (Debian), ${clients} keep-alive clients, ${seconds} s each, GET /v2/_catalog`,
    );
    const noAuth = await measure("no auth", undefined);
    const rendered = await measure(
        "rendered htpasswd (bcrypt cost 5, the default)",
        renderHtpasswd([{ username, password }], "bench-key", 5),
    );
    const cost10 = await measure("bcryptjs default hash (cost 10)", `${username}:${bcrypt.hashSync(password, 10)}\n`);
    console.log(`  ratio rendered / no auth:   ${(rendered / noAuth).toFixed(2)}`);
    console.log(`  ratio cost 10 / no auth:    ${(cost10 / noAuth).toFixed(3)}`);
    console.log(`  ratio rendered / cost 10:   ${(rendered / cost10).toFixed(1)}x`);
}

if (require.main === module) {
    main().catch(e => {
        console.error(e);
        process.exit(1);
    });
}
