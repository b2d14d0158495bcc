import * as net from "net";

/**
 * Input checks that run before anything is created. Each error names the input and the fix,
 * because a platform engineer reads it in `pulumi up` output, far from this code.
 */
export class InputError extends Error {
    constructor(input: string, problem: string, fix: string) {
        super(`${input}: ${problem}. ${fix}`);
        this.name = "InputError";
    }
}

const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function validateHostname(hostname: string, input = "hostname"): string {
    const labels = hostname.split(".");
    if (hostname.length === 0 || hostname.length > 253 || !labels.every(l => l.length <= 63 && dnsLabel.test(l))) {
        throw new InputError(input, `"${hostname}" is not a DNS name`,
            "Use lower-case letters, digits, '-' and '.', e.g. \"registry.test\" (no scheme, port or path).");
    }
    return hostname;
}

export function validateAddress(address: string, input = "address"): string {
    if (net.isIP(address) === 0) {
        throw new InputError(input, `"${address}" is not an IPv4 or IPv6 address`,
            "Give the IP address the hostname should resolve to, e.g. the Terraform output vm_public_ip.");
    }
    return address;
}

export function validateNamespace(namespace: string, input = "namespace"): string {
    if (namespace.length > 63 || !dnsLabel.test(namespace)) {
        throw new InputError(input, `"${namespace}" is not a DNS-1123 label`,
            "Use at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit.");
    }
    return namespace;
}

export function validateUsername(username: string, input = "username"): string {
    if (username.length === 0) {
        throw new InputError(input, "is empty", "Set a registry username (Terraform output container_registry_username).");
    }
    if (username.includes(":")) {
        throw new InputError(input, `"${username}" contains ':', which htpasswd uses as its separator`, "Choose a username without ':'.");
    }
    if (/[\r\n]/.test(username)) {
        throw new InputError(input, "contains a line break, which would split the htpasswd entry", "Choose a username on one line.");
    }
    return username;
}

export function validatePassword(password: string, input = "password"): string {
    if (password.length === 0) {
        throw new InputError(input, "is empty", "Set a registry password (Terraform output container_registry_password).");
    }
    // bcrypt reads at most 72 bytes: a longer password would let any password sharing its first 72 bytes in.
    if (Buffer.byteLength(password, "utf8") > 72) {
        throw new InputError(input, "is longer than 72 bytes, and bcrypt ignores what follows", "Use a password of at most 72 bytes.");
    }
    return password;
}

export function validateReplicas(replicas: number, storageShared: boolean, input = "replicas"): number {
    if (!Number.isInteger(replicas) || replicas < 1) {
        throw new InputError(input, `${replicas} is not a whole number of at least 1`, "Set replicas to 1 or more.");
    }
    if (replicas > 1 && !storageShared) {
        throw new InputError(input, `${replicas} replicas need storage all of them can write, and this storage is not shared`,
            "Use 1 replica, or storage type \"persistentVolumeClaim\" with accessMode \"ReadWriteMany\" (or an existing ReadWriteMany claim).");
    }
    return replicas;
}

export function validateBcryptCost(cost: number, input = "bcryptCost"): number {
    if (!Number.isInteger(cost) || cost < 4 || cost > 31) {
        throw new InputError(input, `${cost} is outside 4..31`, "Use 5 (as `htpasswd -B`), or higher only if you accept fewer requests per second.");
    }
    return cost;
}

export function validatePort(port: number, input = "port"): number {
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
        throw new InputError(input, `${port} is not a TCP port`, "Use a number from 1 to 65535 (443 for a standard ingress).");
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

export function validateImage(image: string, input = "image"): string {
    if (!isImageReference(image)) {
        throw new InputError(input, `"${image}" is not a valid image reference`,
            "Use [registry/]repository[:tag][@sha256:digest], e.g. \"registry:2.8.3\" or \"registry:3.0.0\".");
    }
    return image;
}
