import * as childProcess from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { freePort } from "./ports";
import { hasCommand } from "./requirements";

/** Debian's redis-server (package redis-server, Redis 7.0 in Debian 12). */
export const haveRedis = hasCommand("redis-server");
export const whyNoRedis = "needs redis-server (Debian package redis-server)";

export type RedisReply = string | number | null | Error | RedisReply[];

export interface RunningRedis {
    /** 127.0.0.1:<port> */
    addr: string;
    port: number;
    password: string;
    dir: string;
    /** The redis-server process. */
    pid: number;
    /** Runs one command on a fresh authenticated connection (database 0) and returns its reply. */
    command(...args: string[]): Promise<RedisReply>;
    /** The same in another database (SELECT first). */
    commandIn(db: number, ...args: string[]): Promise<RedisReply>;
    log(): string;
    stop(): Promise<void>;
}

/**
 * Starts redis-server as a Distribution blob-descriptor cache wants it: on a loopback port, a password (random, or
 * the one given)
 * (`requirepass`), `maxmemory-policy allkeys-lru` (the registry sets no expiry on its keys), no persistence (no RDB
 * snapshots, no AOF), its working directory a temporary one. The config file, which holds the password, is 0600
 * and named on the command line instead of the password. Resolves once AUTH and PING answer.
 */
export async function startRedis(options: { password?: string } = {}): Promise<RunningRedis> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dr-redis-"));
    const port = await freePort();
    const password = options.password ?? crypto.randomBytes(24).toString("base64url");
    // redis.conf reads a double-quoted argument with C-style escapes: any password on one line survives it.
    const quoted = `"${password.replace(/[\\"]/g, c => `\\${c}`)}"`;
    const configFile = path.join(dir, "redis.conf");
    fs.writeFileSync(
        configFile,
        [
            "bind 127.0.0.1",
            `port ${port}`,
            "protected-mode yes",
            `requirepass ${quoted}`,
            "maxmemory 64mb",
            "maxmemory-policy allkeys-lru",
            'save ""',
            "appendonly no",
            `dir ${dir}`,
            "daemonize no",
            'logfile ""',
            "databases 4",
        ].join("\n") + "\n",
        { mode: 0o600 },
    );
    const child = childProcess.spawn("redis-server", [configFile], {
        cwd: dir,
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
        stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout!.on("data", d => {
        output += d;
    });
    child.stderr!.on("data", d => {
        output += d;
    });
    const exited = new Promise<void>(resolve => child.once("exit", () => resolve()));
    const stop = async () => {
        if (child.exitCode === null && child.signalCode === null) {
            child.kill("SIGTERM");
            const timer = setTimeout(() => child.kill("SIGKILL"), 10000);
            await exited;
            clearTimeout(timer);
        }
        fs.rmSync(dir, { recursive: true, force: true });
    };
    const command = (...args: string[]) => redisCommand(port, password, args);
    const commandIn = (db: number, ...args: string[]) => redisCommand(port, password, args, db);
    const deadline = Date.now() + 15000;
    for (;;) {
        const pong = await command("PING").catch(() => undefined);
        if (pong === "PONG") {
            break;
        }
        if (child.exitCode !== null || Date.now() > deadline) {
            const log = output;
            await stop();
            throw new Error(`redis-server did not answer on 127.0.0.1:${port}:\n${log}`);
        }
        await new Promise(r => setTimeout(r, 100));
    }
    return {
        addr: `127.0.0.1:${port}`,
        port,
        password,
        dir,
        pid: child.pid!,
        command,
        commandIn,
        log: () => output,
        stop,
    };
}

/**
 * AUTH (and SELECT db) then one command over RESP on a fresh connection (to loopback, or to the Redis pod of the
 * scale-out e2e); the reply to the command (an Error for -ERR); AUTH's or SELECT's error rejects.
 */
export function redisCommand(
    port: number,
    password: string,
    args: string[],
    db = 0,
    host = "127.0.0.1",
): Promise<RedisReply> {
    const encode = (parts: string[]) =>
        `*${parts.length}\r\n` + parts.map(p => `$${Buffer.byteLength(p)}\r\n${p}\r\n`).join("");
    return new Promise((resolve, reject) => {
        const socket = net.connect({ host, port });
        let buffer = Buffer.alloc(0);
        const replies: RedisReply[] = [];
        socket.setTimeout(5000, () => socket.destroy(new Error("redis: timed out")));
        socket.on("error", reject);
        const preamble = [["AUTH", password], ...(db ? [["SELECT", String(db)]] : [])];
        socket.on("connect", () => socket.write([...preamble, args].map(encode).join("")));
        socket.on("data", d => {
            buffer = Buffer.concat([buffer, d]);
            for (;;) {
                const parsed = parseReply(buffer, 0);
                if (!parsed) {
                    break;
                }
                replies.push(parsed.value);
                buffer = buffer.subarray(parsed.end);
            }
            if (replies.length > preamble.length) {
                socket.end();
                const failed = replies.slice(0, preamble.length).find(r => r instanceof Error);
                if (failed) {
                    reject(failed);
                } else {
                    resolve(replies[preamble.length]);
                }
            }
        });
    });
}

/** One RESP2 reply from buf at offset, or undefined when it is not all there yet. */
function parseReply(buf: Buffer, offset: number): { value: RedisReply; end: number } | undefined {
    const lineEnd = buf.indexOf("\r\n", offset);
    if (lineEnd < 0) {
        return undefined;
    }
    const type = String.fromCharCode(buf[offset]);
    const line = buf.toString("utf8", offset + 1, lineEnd);
    const next = lineEnd + 2;
    switch (type) {
        case "+":
            return { value: line, end: next };
        case "-":
            return { value: new Error(line), end: next };
        case ":":
            return { value: Number(line), end: next };
        case "$": {
            const length = Number(line);
            if (length < 0) {
                return { value: null, end: next };
            }
            if (buf.length < next + length + 2) {
                return undefined;
            }
            return { value: buf.toString("utf8", next, next + length), end: next + length + 2 };
        }
        case "*": {
            const count = Number(line);
            if (count < 0) {
                return { value: null, end: next };
            }
            const items: RedisReply[] = [];
            let end = next;
            for (let i = 0; i < count; i++) {
                const item = parseReply(buf, end);
                if (!item) {
                    return undefined;
                }
                items.push(item.value);
                end = item.end;
            }
            return { value: items, end };
        }
        default:
            throw new Error(`redis: unexpected reply type ${JSON.stringify(type)}`);
    }
}
