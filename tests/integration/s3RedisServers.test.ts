import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import { listeningAddresses } from "../support/listeners";
import { RunningRedis, haveRedis, startRedis, whyNoRedis } from "../support/redisServer";
import { s3Request } from "../support/s3Api";
import { itWhen } from "../support/requirements";
import { RunningS3Server, haveWeed, startS3Server, whyNoWeed } from "../support/s3Server";

/** True while a process with this id exists. */
function alive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch (_) {
        return false;
    }
}

/** Sends raw RESP text on a fresh connection and returns the first reply line. */
function rawRedis(port: number, text: string): Promise<string> {
    return new Promise((resolve, reject) => {
        const socket = net.connect({ host: "127.0.0.1", port }, () => socket.write(text));
        socket.setTimeout(5000, () => socket.destroy(new Error("timed out")));
        socket.on("error", reject);
        socket.once("data", d => {
            socket.end();
            resolve(d.toString().split("\r\n")[0]);
        });
    });
}

describe("the S3 server the S3 tests run against (SeaweedFS weed mini)", () => {
    let s3: RunningS3Server;

    beforeAll(async () => {
        if (haveWeed) {
            s3 = await startS3Server({ bucket: "checks" });
        }
    });
    afterAll(async () => s3?.stop());

    itWhen(haveWeed, whyNoWeed)("listens on loopback only, the S3 port among its listeners", () => {
        const addresses = listeningAddresses(s3.pid);
        expect(addresses).toContain(`127.0.0.1:${s3.port}`);
        expect(addresses.filter(a => !a.startsWith("127."))).toEqual([]);
    });

    itWhen(haveWeed, whyNoWeed)(
        "an object put with the configured keys reads back byte for byte and is listed",
        async () => {
            const body = crypto.randomBytes(3 << 20);
            const put = await s3.request({ method: "PUT", path: `/${s3.bucket}/some dir/blob+1`, body });
            expect(put.status).toBe(200);
            const got = await s3.request({ method: "GET", path: `/${s3.bucket}/some dir/blob+1` });
            expect(got.status).toBe(200);
            expect(got.body.equals(body)).toBe(true);
            expect(await s3.keys("some dir/")).toEqual(["some dir/blob+1"]);
        },
    );

    itWhen(haveWeed, whyNoWeed)("refuses a request signed with another secret, and an unsigned one", async () => {
        const wrong = await s3Request(
            { ...s3, secretKey: `${s3.secretKey}x` },
            { method: "GET", path: `/${s3.bucket}` },
        );
        expect(wrong.status).toBe(403);
        const unsigned = await new Promise<number>((resolve, reject) => {
            http.get(`${s3.endpoint}/${s3.bucket}`, res => {
                res.resume();
                resolve(res.statusCode ?? 0);
            }).on("error", reject);
        });
        expect(unsigned).toBe(403);
    });

    itWhen(haveWeed, whyNoWeed)("keeps its secret key out of its command line", () => {
        const cmdline = fs.readFileSync(`/proc/${s3.pid}/cmdline`, "utf8");
        expect(cmdline).not.toContain(s3.secretKey);
        expect(fs.statSync(`${s3.dir}/s3.json`).mode & 0o077).toBe(0);
    });

    itWhen(haveWeed, whyNoWeed)("stop ends the process and removes its directory and sockets", async () => {
        const other = await startS3Server();
        expect(other.sockets.filter(s => fs.existsSync(s)).length).toBeGreaterThan(0);
        await other.stop();
        expect(alive(other.pid)).toBe(false);
        expect(fs.existsSync(other.dir)).toBe(false);
        expect(other.sockets.filter(s => fs.existsSync(s))).toEqual([]);
    });
});

describe("the Redis the cache tests run against (Debian's redis-server)", () => {
    let redis: RunningRedis;

    beforeAll(async () => {
        if (haveRedis) {
            redis = await startRedis();
        }
    });
    afterAll(async () => redis?.stop());

    itWhen(haveRedis, whyNoRedis)("listens on loopback only", () => {
        expect(listeningAddresses(redis.pid)).toEqual([`127.0.0.1:${redis.port}`]);
    });

    itWhen(haveRedis, whyNoRedis)("refuses commands without the password, and with a wrong one", async () => {
        expect(await rawRedis(redis.port, "*1\r\n$4\r\nPING\r\n")).toMatch(/^-NOAUTH/);
        expect(await rawRedis(redis.port, "*2\r\n$4\r\nAUTH\r\n$5\r\nwrong\r\n")).toMatch(/^-WRONGPASS/);
        expect(await redis.command("PING")).toBe("PONG");
    });

    itWhen(haveRedis, whyNoRedis)(
        "when full, evicts keys without an expiry (allkeys-lru: the registry sets none) instead of refusing writes",
        async () => {
            expect(await redis.command("CONFIG", "GET", "maxmemory-policy")).toEqual([
                "maxmemory-policy",
                "allkeys-lru",
            ]);
            const limit = await redis.command("CONFIG", "GET", "maxmemory");
            // Under noeviction or volatile-lru, a write past the limit is refused with OOM.
            expect(await redis.command("CONFIG", "SET", "maxmemory", "4mb")).toBe("OK");
            try {
                const value = "x".repeat(64 << 10);
                for (let i = 0; i < 200; i++) {
                    expect(await redis.command("SET", `fill:${i}`, value)).toBe("OK");
                }
                const size = (await redis.command("DBSIZE")) as number;
                expect(size).toBeLessThan(200);
                expect(await redis.command("GET", "fill:199")).toBe(value);
            } finally {
                await redis.command("CONFIG", "SET", "maxmemory", (limit as string[])[1]);
            }
        },
    );

    itWhen(haveRedis, whyNoRedis)(
        "persists nothing: no RDB snapshots, no AOF, nothing written to its directory",
        async () => {
            expect(await redis.command("CONFIG", "GET", "save")).toEqual(["save", ""]);
            expect(await redis.command("CONFIG", "GET", "appendonly")).toEqual(["appendonly", "no"]);
            expect(await redis.command("SET", "k", "v")).toBe("OK");
            expect(fs.readdirSync(redis.dir).sort()).toEqual(["redis.conf"]);
        },
    );

    itWhen(haveRedis, whyNoRedis)("keeps its password out of its command line", () => {
        expect(fs.readFileSync(`/proc/${redis.pid}/cmdline`, "utf8")).not.toContain(redis.password);
        expect(fs.statSync(`${redis.dir}/redis.conf`).mode & 0o077).toBe(0);
    });

    itWhen(haveRedis, whyNoRedis)("stop ends the process and removes its directory", async () => {
        const other = await startRedis();
        await other.stop();
        expect(alive(other.pid)).toBe(false);
        expect(fs.existsSync(other.dir)).toBe(false);
    });
});
