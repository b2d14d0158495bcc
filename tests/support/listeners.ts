import * as fs from "fs";

/**
 * The TCP addresses a process listens on ("127.0.0.1:8333", "[::]:80"...), read from /proc: its socket inodes
 * matched against the LISTEN entries of /proc/net/tcp and tcp6.
 */
export function listeningAddresses(pid: number): string[] {
    const inodes = new Set<string>();
    for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
        try {
            const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
            if (m) {
                inodes.add(m[1]);
            }
        } catch (_) {
            // the descriptor closed while we looked
        }
    }
    const addresses: string[] = [];
    for (const [file, v6] of [
        ["/proc/net/tcp", false],
        ["/proc/net/tcp6", true],
    ] as const) {
        if (!fs.existsSync(file)) {
            continue;
        }
        for (const line of fs.readFileSync(file, "utf8").split("\n").slice(1)) {
            const f = line.trim().split(/\s+/);
            // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode; st 0A is LISTEN
            if (f.length < 10 || f[3] !== "0A" || !inodes.has(f[9])) {
                continue;
            }
            const [hexAddr, hexPort] = f[1].split(":");
            addresses.push(`${v6 ? `[${ipv6(hexAddr)}]` : ipv4(hexAddr)}:${parseInt(hexPort, 16)}`);
        }
    }
    return addresses;
}

/** /proc/net/tcp writes an IPv4 address as one little-endian 32-bit word in hex. */
function ipv4(hex: string): string {
    return [3, 2, 1, 0].map(i => parseInt(hex.slice(i * 2, i * 2 + 2), 16)).join(".");
}

/** /proc/net/tcp6 writes an IPv6 address as four little-endian 32-bit words in hex. */
function ipv6(hex: string): string {
    const bytes: number[] = [];
    for (let w = 0; w < 4; w++) {
        const word = hex.slice(w * 8, w * 8 + 8);
        for (const i of [3, 2, 1, 0]) {
            bytes.push(parseInt(word.slice(i * 2, i * 2 + 2), 16));
        }
    }
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) {
        groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
    }
    return groups.join(":").replace(/(^|:)0(:0)+(:|$)/, "::");
}
