import * as childProcess from "child_process";
import * as pulumi from "@pulumi/pulumi";

/** A resource the program registered, with the inputs the engine would have received. */
export interface Registered {
    type: string;
    name: string;
    inputs: any;
    /** The state the mock answered with: what the program's Outputs of this resource resolve to. */
    state: Record<string, unknown>;
}

/** The fixed results the random provider would keep in state. */
export const randomResults: Record<string, string> = {
    "registry-bcrypt-salt-key": "saltkeysaltkeysaltkeysaltkey1234",
    "registry-http-secret": "httpsecrethttpsecrethttpsecrethttpsecret12345678",
    "registry-pull-password": "pullpasswordpullpasswordpull1234",
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
                // Keep secrets wrapped only in what the test reads; the program gets plain state back, as from the engine.
                const state: Record<string, unknown> = { ...args.inputs };
                registered.push({ type: args.type, name: args.name, inputs: args.inputs, state });
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
 * The Node.js runtime's own test that a program is done, which `pulumi up` uses before it disconnects: no RPC is
 * outstanding. Each resource holds one from its construction until the engine (here the mocks) has answered its
 * registration, however long its inputs take (signing the certificates, say). Internal to @pulumi/pulumi
 * (runtime/settings.js), pinned by package.json.
 */
const waitForRPCs: (() => Promise<void>) | undefined = (pulumi.runtime as any).waitForRPCs;

/** One turn of the event loop: promise callbacks queued so far run, and unhandled rejections are reported. */
export function nextTurn(): Promise<void> {
    return new Promise(resolve => setImmediate(resolve));
}

/**
 * Waits until the program's resources are all registered: first for the Outputs of `outputsOf` (a component, or a
 * program's outputs), which resolve only after the children they come from are registered, then until the runtime has
 * no RPC outstanding and a turn of the event loop started none: no registration can come in after that, so a count
 * of "nothing registered" is final, not a guess after a quiet spell.
 */
export async function settled(registered: { length: number }, outputsOf?: object): Promise<void> {
    if (typeof waitForRPCs !== "function") {
        throw new Error("@pulumi/pulumi no longer has runtime.waitForRPCs: settled() needs another test of done");
    }
    if (outputsOf) {
        await Promise.all(
            Object.values(outputsOf)
                .filter(v => pulumi.Output.isInstance(v))
                .map(o => (o as any).promise().catch(() => undefined)),
        );
    }
    for (let before = -1; before !== registered.length;) {
        before = registered.length;
        await waitForRPCs();
        await nextTurn();
    }
}
