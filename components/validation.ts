import * as net from "net";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";

/**
 * Input checks that run before anything is created. Each error names the input and the fix,
 * because a platform engineer reads it in `pulumi up` output, far from this code.
 * A RunError: the Pulumi runtime prints its message alone, without a stack trace (which is for our bugs).
 */
export class InputError extends pulumi.RunError {
    constructor(
        public readonly input: string,
        public readonly problem: string,
        public readonly fix: string,
    ) {
        super(`${input}: ${problem}. ${fix}`);
        this.name = "InputError";
    }

    /** The same error for another name of the input (a config key instead of an argument path). */
    renamed(input: string): InputError {
        return new InputError(input, this.problem, this.fix);
    }
}

/** One of an enum's strings (the choice arguments); a typo must not fall back to a default. */
export function validateChoice<T extends string>(value: unknown, choices: Record<string, T>, input: string): T {
    const allowed = Object.values(choices);
    if (typeof value !== "string" || !(allowed as string[]).includes(value)) {
        throw new InputError(
            input,
            `${JSON.stringify(value)} is not one of the choices`,
            `Use ${allowed
                .map(a => `"${a}"`)
                .join(", ")
                .replace(/, ([^,]*)$/, " or $1")}.`,
        );
    }
    return value as T;
}

/** Whether a value holds no Output or Promise anywhere: it can be checked now, before anything is registered. */
export function isPlain(value: unknown): boolean {
    if (pulumi.Output.isInstance(value) || value instanceof Promise) {
        return false;
    }
    if (Array.isArray(value)) {
        return value.every(isPlain);
    }
    if (value !== null && typeof value === "object") {
        return Object.values(value).every(isPlain);
    }
    return true;
}

// Kubernetes resource quantities: a positive decimal with a binary (Ki..Ei) or decimal (m, k..E) suffix, or an exponent.
const quantityPattern = /^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+|Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?$/;

/**
 * A Kubernetes quantity greater than zero. Memory and storage may not use "m": it means milli, so "64m" would
 * be 0.064 bytes (a frequent slip for "64Mi").
 */
export function validateQuantity(value: string, kind: "cpu" | "memory" | "storage", input: string): string {
    const example = kind === "cpu" ? '"50m" or "0.5"' : kind === "memory" ? '"64Mi" or "1Gi"' : '"10Gi"';
    if (typeof value !== "string" || !quantityPattern.test(value) || parseFloat(value) <= 0) {
        throw new InputError(
            input,
            `${JSON.stringify(value)} is not a ${kind} quantity above zero`,
            `Use a Kubernetes quantity, e.g. ${example}.`,
        );
    }
    if (kind !== "cpu" && value.endsWith("m")) {
        throw new InputError(
            input,
            `"${value}" means ${value.slice(0, -1)} thousandths of a byte`,
            `Use "Mi" for mebibytes, e.g. "${value.slice(0, -1)}Mi".`,
        );
    }
    return value;
}

const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A Kubernetes object name (DNS-1123 subdomain), e.g. a claim or storage class. */
export function validateObjectName(value: string, input: string): string {
    if (value.length > 253 || !dnsSubdomain.test(value)) {
        throw new InputError(
            input,
            `"${value}" is not a Kubernetes object name`,
            "Use at most 253 lower-case letters, digits, '-' and '.', starting and ending with a letter or digit.",
        );
    }
    return value;
}

const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function validateHostname(hostname: string, input = "hostname"): string {
    const labels = hostname.split(".");
    // An Ingress host must be a DNS name, and a name whose last label is all digits is read as an IPv4 address.
    if (net.isIP(hostname) !== 0 || /^[0-9]+$/.test(labels[labels.length - 1])) {
        throw new InputError(
            input,
            `"${hostname}" is an IP address, and an Ingress host must be a DNS name`,
            'Use a DNS name such as "registry.test" and put the IP address in address (the hosts entry maps one to the other).',
        );
    }
    if (hostname.length === 0 || hostname.length > 253 || !labels.every(l => l.length <= 63 && dnsLabel.test(l))) {
        throw new InputError(
            input,
            `"${hostname}" is not a DNS name`,
            "Use lower-case letters, digits, '-' and '.', e.g. \"registry.test\" (no scheme, port or path).",
        );
    }
    return hostname;
}

export function validateAddress(address: string, input = "address"): string {
    if (net.isIP(address) === 0) {
        throw new InputError(
            input,
            `"${address}" is not an IPv4 or IPv6 address`,
            "Give the IP address the hostname should resolve to, e.g. the Terraform output vm_public_ip.",
        );
    }
    // ::ffff:a.b.c.d is an IPv4 address in IPv6 clothing: a certificate's iPAddress would hold the 16-byte form, which
    // clients connecting to a.b.c.d never match, and the hosts line would name an address nothing listens on.
    const ipv4 = ipv4OfMapped(address);
    if (ipv4) {
        throw new InputError(input, `"${address}" is an IPv4-mapped IPv6 address`, `Give the IPv4 address, "${ipv4}".`);
    }
    return address;
}

/** The IPv4 address an IPv4-mapped IPv6 address (any spelling of ::ffff:a.b.c.d) stands for; undefined otherwise. */
function ipv4OfMapped(address: string): string | undefined {
    if (!net.isIPv6(address)) {
        return undefined;
    }
    let canonical: string;
    try {
        canonical = new URL(`http://[${address}]/`).hostname.slice(1, -1);
    } catch (_) {
        return undefined; // a zone index ("%eth0"): not a mapped address
    }
    const m = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
    if (!m) {
        return undefined;
    }
    const [high, low] = [parseInt(m[1], 16), parseInt(m[2], 16)];
    return [high >> 8, high & 255, low >> 8, low & 255].join(".");
}

export function validateNamespace(namespace: string, input = "namespace"): string {
    if (namespace.length > 63 || !dnsLabel.test(namespace)) {
        throw new InputError(
            input,
            `"${namespace}" is not a DNS-1123 label`,
            "Use at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit.",
        );
    }
    return namespace;
}

export function validateUsername(username: string, input = "username"): string {
    if (username.length === 0) {
        throw new InputError(
            input,
            "is empty",
            "Set a registry username (Terraform output container_registry_username).",
        );
    }
    if (username.includes(":")) {
        throw new InputError(
            input,
            `"${username}" contains ':', which htpasswd uses as its separator`,
            "Choose a username without ':'.",
        );
    }
    if (/[\r\n]/.test(username)) {
        throw new InputError(
            input,
            "contains a line break, which would split the htpasswd entry",
            "Choose a username on one line.",
        );
    }
    return username;
}

export function validatePassword(password: string, input = "password"): string {
    if (password.length === 0) {
        throw new InputError(
            input,
            "is empty",
            "Set a registry password (Terraform output container_registry_password).",
        );
    }
    // `docker login --password-stdin` and `skopeo login --password-stdin` read one line: the rest would be lost (401).
    if (/[\r\n]/.test(password)) {
        throw new InputError(
            input,
            "contains a line break, which `docker login --password-stdin` cannot carry",
            "Choose a password on one line (change it where it is made, e.g. the Terraform output container_registry_password).",
        );
    }
    // bcrypt reads at most 72 bytes: a longer password would let any password sharing its first 72 bytes in.
    if (Buffer.byteLength(password, "utf8") > 72) {
        throw new InputError(
            input,
            "is longer than 72 bytes, and bcrypt ignores what follows",
            "Use a password of at most 72 bytes.",
        );
    }
    return password;
}

export function validateReplicas(replicas: number, storageShared: boolean, input = "replicas"): number {
    if (!Number.isInteger(replicas) || replicas < 1) {
        throw new InputError(input, `${replicas} is not a whole number of at least 1`, "Set replicas to 1 or more.");
    }
    if (replicas > 1 && !storageShared) {
        throw new InputError(
            input,
            `${replicas} replicas need storage all of them can write, and this storage is not shared`,
            'Use 1 replica, storage type "s3" (a bucket), or storage type "persistentVolumeClaim" with accessMode "ReadWriteMany" (or an existing ReadWriteMany claim).',
        );
    }
    return replicas;
}

export function validateBcryptCost(cost: number, input = "bcryptCost"): number {
    if (!Number.isInteger(cost) || cost < 4 || cost > 31) {
        throw new InputError(
            input,
            `${cost} is outside 4..31`,
            "Use 5 (as `htpasswd -B`), or higher only if you accept fewer requests per second.",
        );
    }
    return cost;
}

export function validatePort(port: number, input = "port"): number {
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
        throw new InputError(
            input,
            `${port} is not a TCP port`,
            "Use a number from 1 to 65535 (443 for a standard ingress).",
        );
    }
    return port;
}

// The grammar of github.com/distribution/reference, without its length limits.
const alnum = "[a-z0-9]+";
const separator = "(?:[._]|__|[-]+)";
const pathComponent = `${alnum}(?:${separator}${alnum})*`;
const domainComponent = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const domain = `(?:${domainComponent}(?:\\.${domainComponent})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?`;
const tag = "[\\w][\\w.-]{0,127}";
const digest = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";
const imageReference = new RegExp(`^(?:${domain}/)?${pathComponent}(?:/${pathComponent})*(?::${tag})?(?:@${digest})?$`);

const repositoryName = new RegExp(`^${pathComponent}(?:/${pathComponent})*$`);
const tagName = new RegExp(`^${tag}$`);

/** A repository name as the registry accepts it, e.g. "nginx" or "team/app". */
export function isRepositoryName(name: string): boolean {
    return name.length <= 255 && repositoryName.test(name);
}

export function isTagName(name: string): boolean {
    return tagName.test(name);
}

export function isImageReference(reference: string): boolean {
    return imageReference.test(reference);
}

export function validateImage(
    image: string,
    input = "image",
    example = '"registry:2.8.3" or "registry:3.0.0"',
): string {
    if (!isImageReference(image)) {
        throw new InputError(
            input,
            `"${image}" is not a valid image reference`,
            `Use [registry/]repository[:tag][@sha256:digest], e.g. ${example}.`,
        );
    }
    return image;
}

const cronMacros = ["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"];
const cronField = /^[0-9A-Za-z*?/,-]+$/;

/** A CronJob schedule: five fields, or a macro such as "@weekly". The API server checks the rest of the grammar. */
export function validateCronSchedule(schedule: string, input: string): string {
    const fields = schedule.trim().split(/\s+/);
    const valid = cronMacros.includes(schedule) || (fields.length === 5 && fields.every(f => cronField.test(f)));
    if (!valid || /TZ=/.test(schedule)) {
        throw new InputError(
            input,
            `${JSON.stringify(schedule)} is not a cron schedule`,
            'Give five fields (minute hour day-of-month month day-of-week), e.g. "0 3 * * 0" (Sundays at 03:00), or "none" for on demand only.',
        );
    }
    return schedule;
}

/** A whole number of days of at least one, at most `max` (macOS refuses server certificates valid for more than 825 days). */
export function validateDays(value: unknown, max: number, input: string, example: number): number {
    if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > max) {
        throw new InputError(
            input,
            `${JSON.stringify(value)} is not a whole number of days from 1 to ${max}`,
            `Use e.g. ${example} (the default).`,
        );
    }
    return value;
}

/** Seconds for a timeout: a whole number above zero. */
export function validateSeconds(value: unknown, input: string, example: number): number {
    if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
        throw new InputError(
            input,
            `${JSON.stringify(value)} is not a whole number of seconds above zero`,
            `Use e.g. ${example}.`,
        );
    }
    return value;
}

/** 2 or 3: the major versions of Distribution the component renders for. */
export function validateMajorVersion(value: unknown, input = "imageMajorVersion"): 2 | 3 {
    if (value !== 2 && value !== 3) {
        throw new InputError(
            input,
            `${JSON.stringify(value)} is not 2 or 3`,
            "Give the major version of Distribution the image runs: 2 for registry:2.x, 3 for registry:3.x.",
        );
    }
    return value;
}

/** A path on the nodes (a hostPath the node-trust DaemonSet mounts): absolute, normalized, not the root, one line. */
export function validateNodePath(value: unknown, input: string, example: string): string {
    const ok =
        typeof value === "string" &&
        value.startsWith("/") &&
        value !== "/" &&
        ![...value].some(c => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f) &&
        path.posix.normalize(value) === value &&
        !value.endsWith("/");
    if (!ok) {
        throw new InputError(
            input,
            `${JSON.stringify(value)} is not a path on the nodes (absolute, normalized, not "/" itself)`,
            `Give one such as "${example}" (normalized: no "..", "//" or trailing "/").`,
        );
    }
    return value;
}

/** An http(s) URL, as the KEP-1755 ConfigMap's help. */
export function validateHelpUrl(value: unknown, input: string): string {
    let url: URL | undefined;
    try {
        url = typeof value === "string" && !/\s/.test(value) ? new URL(value) : undefined;
    } catch (_) {
        url = undefined;
    }
    if (!url || (url.protocol !== "https:" && url.protocol !== "http:")) {
        throw new InputError(
            input,
            `${JSON.stringify(value)} is not an http(s) URL`,
            'Give the page that tells your users how to push and pull, e.g. "https://wiki.example.com/registry".',
        );
    }
    return value as string;
}

/** A bucket's name alone: what S3-compatible servers accept, never a URL or a path. */
export function validateBucket(value: unknown, input: string): string {
    if (typeof value !== "string" || !/^[A-Za-z0-9][A-Za-z0-9._-]{1,253}[A-Za-z0-9]$/.test(value)) {
        throw new InputError(
            input,
            `${JSON.stringify(value)} is not a bucket name`,
            'Give the bucket\'s name alone, e.g. "registry" (no "s3://", no path: storage.s3.rootDirectory takes a prefix).',
        );
    }
    return value;
}

/** An S3 region name: letters, digits and '-'. */
export function validateRegion(value: unknown, input: string): string {
    if (typeof value !== "string" || !/^[a-z0-9][a-z0-9-]{0,62}$/.test(value)) {
        throw new InputError(
            input,
            `${JSON.stringify(value)} is not a region name`,
            'Give the bucket\'s region, e.g. "us-east-1" (servers other than AWS take any such name).',
        );
    }
    return value;
}

/** The URL of an S3-compatible server: http or https, a host and perhaps a port, nothing else. */
export function validateEndpoint(value: unknown, input: string): string {
    let url: URL | undefined;
    try {
        url = typeof value === "string" ? new URL(value) : undefined;
    } catch (_) {
        url = undefined;
    }
    if (
        !url ||
        !["http:", "https:"].includes(url.protocol) ||
        url.username ||
        url.password ||
        url.search ||
        url.hash ||
        url.pathname !== "/" ||
        !/^https?:\/\/[^/]+\/?$/.test(value as string)
    ) {
        throw new InputError(
            input,
            `${JSON.stringify(value)} is not the URL of an S3 server`,
            'Give its scheme, host and port only, e.g. "http://10.96.0.20:8333" or "https://s3.example.com" (keys go in accessKey and secretKey).',
        );
    }
    return value as string;
}

/** A prefix inside the bucket: a path of printable characters, without "..", "//" or whitespace. */
export function validateRootDirectory(value: unknown, input: string): string {
    if (
        typeof value !== "string" ||
        !/^\/?[A-Za-z0-9._~@+=,-]+(\/[A-Za-z0-9._~@+=,-]+)*\/?$/.test(value) ||
        value.split("/").includes("..")
    ) {
        throw new InputError(
            input,
            `${JSON.stringify(value)} is not a path inside the bucket`,
            'Give a prefix such as "/registry": letters, digits and ._~@+=,- between single slashes.',
        );
    }
    return value;
}

/** A key of a Kubernetes Secret. */
export function validateSecretKey(value: unknown, input: string): string {
    if (typeof value !== "string" || !/^[-._a-zA-Z0-9]{1,253}$/.test(value)) {
        throw new InputError(
            input,
            `${JSON.stringify(value)} is not a key of a Secret`,
            "Use letters, digits, '-', '_' and '.' (the name of the entry in the Secret's data).",
        );
    }
    return value;
}

/** A secret value given as an input (an S3 key, a Redis password): not empty. */
export function validateSecretValue(value: unknown, input: string): string {
    if (typeof value !== "string" || value.length === 0) {
        throw new InputError(input, "is empty", "Give the value, or leave it unset.");
    }
    return value;
}

/** host:port of a Redis: a DNS name, an IPv4 address or a bracketed IPv6 address, and a port. */
export function validateRedisAddress(value: unknown, input: string): string {
    const m = typeof value === "string" ? /^(\[[0-9A-Fa-f:.]+\]|[^:[\]]+):([0-9]{1,5})$/.exec(value) : null;
    const host = m?.[1].startsWith("[") ? m[1].slice(1, -1) : m?.[1];
    const port = Number(m?.[2]);
    const hostOk =
        host !== undefined &&
        (m![1].startsWith("[")
            ? net.isIPv6(host)
            : net.isIPv4(host) || (host.length <= 253 && host.split(".").every(l => dnsLabel.test(l))));
    if (!hostOk || !Number.isInteger(port) || port < 1 || port > 65535) {
        throw new InputError(
            input,
            `${JSON.stringify(value)} is not host:port`,
            'Give the Redis as host:port, e.g. "redis.cache.svc:6379" or "10.96.0.30:6379".',
        );
    }
    return value as string;
}

/** A Redis database number. */
export function validateRedisDb(value: unknown, input: string): number {
    if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 1000000) {
        throw new InputError(
            input,
            `${JSON.stringify(value)} is not a database number`,
            "Give a whole number from 0 (the default) to the Redis's `databases` minus one.",
        );
    }
    return value;
}
