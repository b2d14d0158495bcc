import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { TlsKeys } from "./certificates";

/** RSA: its PKCS#1 v1.5 signatures are deterministic, so the certificates signed with it are the same bytes every run. */
export const keySpec = "rsa-2048";

/**
 * Generates the CA's and the server's keys with Node's crypto (OpenSSL) and prints them, with the time, as
 * JSON. It runs once, at create: the keys then live only in the Command's state, as secrets.
 */
export const generateKeysScript = [
    '"use strict";',
    'const crypto = require("crypto");',
    'const key = () => crypto.generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs8", format: "pem" });',
    "process.stdout.write(JSON.stringify({ created: new Date().toISOString(), caPrivateKey: key(), serverPrivateKey: key() }));",
    "",
].join("\n");

/**
 * The resource that keeps the keys. A Command, because the one provider that generates keys (pulumi-tls) is not
 * a dependency of this package, and pulumi-command is. Its stdout is made secret and never logged; a change of
 * the script text alone keeps the keys (ignoreChanges), and a new `keySpec` replaces them.
 */
export function createPrivateKeys(
    name: string,
    opts: pulumi.CustomResourceOptions,
    ready: pulumi.Output<boolean>,
): pulumi.Output<TlsKeys> {
    const keysCommand = new command.local.Command(
        `${name}-tls-keys`,
        {
            interpreter: ["node", "-e"],
            create: generateKeysScript,
            logging: "none",
            triggers: [ready.apply(() => keySpec)],
        },
        { ...opts, additionalSecretOutputs: ["stdout"], ignoreChanges: ["create", "interpreter", "logging"] },
    );
    return pulumi.secret(keysCommand.stdout.apply(parseKeys));
}

/** The Command's stdout as keys; a clear error if the state holds something else. */
export function parseKeys(stdout: string): TlsKeys {
    let parsed: Partial<TlsKeys> = {};
    try {
        parsed = JSON.parse(stdout);
    } catch (_) {
        /* reported below */
    }
    if (
        typeof parsed.created !== "string" ||
        typeof parsed.caPrivateKey !== "string" ||
        typeof parsed.serverPrivateKey !== "string"
    ) {
        throw new Error(
            "the TLS keys Command's output is not the keys it prints; replace it with `pulumi up --replace <its URN>`",
        );
    }
    return { created: parsed.created, caPrivateKey: parsed.caPrivateKey, serverPrivateKey: parsed.serverPrivateKey };
}
