// Runs this program under Pulumi's mocks, with the SDK and ts-node installed here, and prints what it
// registered as one JSON line. tests/integration/consumerPackage.test.ts runs it in a copy of this folder.
import * as childProcess from "child_process";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";

interface Registration {
    type: string;
    name: string;
    provider?: string;
    inputs: Record<string, unknown>;
}
const registered: Registration[] = [];
pulumi.runtime.setMocks(
    {
        newResource(args: pulumi.runtime.MockResourceArgs) {
            registered.push({ type: args.type, name: args.name, provider: args.provider, inputs: args.inputs });
            // What the random provider would keep in state, and the TLS keys Command's output (its script really runs);
            // everything else echoes its inputs.
            const result =
                args.type === "random:index/randomPassword:RandomPassword"
                    ? { result: `${args.name}-0123456789abcdef` }
                    : args.name.endsWith("-tls-keys")
                      ? {
                            stdout: childProcess.execFileSync("node", ["-e", String(args.inputs.create)], {
                                encoding: "utf8",
                            }),
                        }
                      : {};
            return { id: `${args.name}-id`, state: { ...args.inputs, ...result } };
        },
        call(args: pulumi.runtime.MockCallArgs) {
            return args.inputs;
        },
    },
    "registry-consumer",
    "test",
    false,
);

async function main(): Promise<void> {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const program = require("./index");
    const valueOf = (o: pulumi.Output<unknown>) =>
        new Promise(resolve =>
            o.apply(v => {
                resolve(v);
                return v;
            }),
        );
    const outputs = {
        url: await valueOf(program.url),
        namespace: await valueOf(program.namespace),
        htpasswdIsSecret: await pulumi.isSecret(program.htpasswd),
    };
    // Registrations arrive asynchronously (the TLS Secret's after the certificates are signed): wait until the
    // runtime has no RPC outstanding (each resource holds one from its construction until its registration is
    // answered) and a turn of the event loop started none. runtime.waitForRPCs is internal to @pulumi/pulumi.
    const waitForRPCs: () => Promise<void> = (pulumi.runtime as any).waitForRPCs;
    for (let before = -1; before !== registered.length;) {
        before = registered.length;
        await waitForRPCs();
        await new Promise(r => setImmediate(r));
    }
    const installed = path.dirname(require.resolve("distribution-registry/package.json"));
    process.stdout.write(
        JSON.stringify({
            registered,
            outputs,
            sdk: require.resolve("@pulumi/pulumi"),
            sdkOfPackage: require.resolve("@pulumi/pulumi", { paths: [installed] }),
            rootExportIsComponents: require("distribution-registry") === require("distribution-registry/components"),
        }) + "\n",
    );
}

main().catch(e => {
    console.error(e);
    process.exit(1);
});
