import * as fs from "fs";
import * as os from "os";

/**
 * A lock record as the workstation scripts write it (lockedFile.js): the holder's pid and start time, the boot and
 * the machine, and a nonce. Tests write one to stand for a holder they control (a live process, or one gone).
 */
export function lockRecord(pid: number, start: string | null): string {
    let boot: string;
    try {
        boot = `id:${fs.readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim()}`;
    } catch (_) {
        boot = `at:${Math.round(Date.now() / 1000 - os.uptime())}`;
    }
    return JSON.stringify({
        version: 1,
        pid,
        start,
        boot,
        host: os.hostname(),
        nonce: "0123456789abcdef",
        sequence: 1,
    });
}

/** The start time of a running process as /proc gives it (field 22 of its stat), as the scripts record it. */
export function procStart(pid: number): string {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return `proc:${stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]}`;
}
