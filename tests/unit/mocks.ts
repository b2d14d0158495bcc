import * as childProcess from "child_process";
import * as pulumi from "@pulumi/pulumi";

/** A resource the program registered, with the inputs the engine would have received. */
export interface Registered {
    type: string;
    name: string;
    inputs: any;
}

/** The fixed results the random provider would keep in state. */
export const randomResults: Record<string, string> = {
    "registry-bcrypt-salt-key": "saltkeysaltkeysaltkeysaltkey1234",
    "registry-http-secret": "httpsecrethttpsecrethttpsecrethttpsecret12345678",
};

/**
 * The TLS keys Command's stdout: its script really runs, once per resource name in this process, so that a second
 * program run reads the same keys, as from state.
 */
const keysInState = new Map<string, string>();
const autonameSuffix = "5f3c9a1e";
export function tlsKeysStdout(name: string, script: string): string {
    if (!keysInState.has(name)) {
        keysInState.set(name, childProcess.execFileSync("node", ["-e", script], { encoding: "utf8" }));
    }
    return keysInState.get(name)!;
}

/** Forgets the keys, as a new stack would have none. */
export function forgetTlsKeys(): void {
    keysInState.clear();
}

/**
 * Pulumi mocks standing in for the engine: every registration is recorded, random results are the fixed
 * values a second `pulumi up` would read from state, and other resources echo their inputs.
 */
export function installMocks(): Registered[] {
    const registered: Registered[] = [];
    // Its body is synchronous: the promise it returns has nothing to wait for.
    void pulumi.runtime.setMocks(
        {
            newResource(args: pulumi.runtime.MockResourceArgs) {
                registered.push({ type: args.type, name: args.name, inputs: args.inputs });
                // Keep secrets wrapped only in what the test reads; the program gets plain state back, as from the engine.
                const state: Record<string, unknown> = { ...args.inputs };
                // The Kubernetes provider names an object without a name: <resource name>-<8 random hex>.
                const metadata = args.inputs.metadata;
                if (
                    args.type.startsWith("kubernetes:") &&
                    metadata &&
                    typeof metadata === "object" &&
                    metadata.name === undefined
                ) {
                    state.metadata = { ...metadata, name: `${args.name}-${autonameSuffix}` };
                }
                if (args.type === "random:index/randomPassword:RandomPassword") {
                    state.result = randomResults[args.name] ?? `random-${args.name}`;
                }
                if (args.type === "command:local:Command") {
                    state.stdout = args.name.endsWith("-tls-keys")
                        ? tlsKeysStdout(args.name, plain(args.inputs.create))
                        : "";
                    state.stderr = "";
                }
                return { id: `${args.name}-id`, state };
            },
            call(args: pulumi.runtime.MockCallArgs) {
                return args.inputs;
            },
        },
        "distribution-registry",
        "test",
        false,
    );
    return registered;
}

/** The value of an Output, once known. */
export function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise(resolve =>
        output.apply(v => {
            resolve(v);
            return v;
        }),
    );
}

/** Inputs as plain values: mocks receive secrets wrapped as {<secret signature>: ..., value}. */
export function plain(value: any): any {
    if (Array.isArray(value)) {
        return value.map(plain);
    }
    if (value && typeof value === "object") {
        if (pulumi.runtime.specialSigKey in value && "value" in value) {
            return plain(value.value);
        }
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
    }
    return value;
}

/** Whether a mock input was a secret. */
export function wasSecret(value: any): boolean {
    return (
        !!value && typeof value === "object" && value[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig
    );
}

/**
 * Waits until the program's resources are all registered: first for the Outputs of `outputsOf` (a component, or a
 * program's outputs), which resolve only after the children they come from are registered, then until no
 * registration has come in for a while. The quiet spell alone is not enough: a step such as signing the
 * certificates can take longer than it on a loaded machine, and its dependants would be counted late.
 */
export async function settled(registered: { length: number }, outputsOf?: object): Promise<void> {
    if (outputsOf) {
        await Promise.all(
            Object.values(outputsOf)
                .filter(v => pulumi.Output.isInstance(v))
                .map(o => (o as any).promise().catch(() => undefined)),
        );
    }
    let last = -1;
    let quiet = 0;
    while (quiet < 5) {
        await new Promise(r => setTimeout(r, 20));
        quiet = registered.length === last ? quiet + 1 : 0;
        last = registered.length;
    }
}
