import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { installMocks, plain, Registered, settled, valueOf, wasSecret } from "./mocks";
import { makeSelfSignedCertificate } from "../support/tls";

const registered: Registered[] = installMocks();
// Imported after the mocks, as the engine would load it.
import { DistributionRegistry, DistributionRegistryArgs } from "../../components";
import { nodeTrustScriptFile } from "../../components/pulling";
import { nodeTrustChecksum } from "../../components/templates/nodeTrustDaemonSet";

/*
 * The cluster's side of pulling (issue 18) under mocks: the node-trust DaemonSet and the ConfigMap of its script, and
 * KEP-1755's kube-public/local-registry-hosting. The script itself runs on real files in
 * tests/integration/nodeTrust.test.ts, and on a real node in tests/engine/e2e.test.ts.
 */

const password = "Tf-p@ss w\"ord'$(x)";
const tlsDir = fs.mkdtempSync(path.join(os.tmpdir(), "dr-pulling-"));
const userCa = makeSelfSignedCertificate(path.join(tlsDir, "a"), "registry.test").certPem;
const otherCa = makeSelfSignedCertificate(path.join(tlsDir, "b"), "registry.test").certPem;
afterAll(() => fs.rmSync(tlsDir, { recursive: true, force: true }));

async function build(name: string, args: Partial<DistributionRegistryArgs> = {}) {
    const options = new Map<string, pulumi.CustomResourceOptions>();
    const component = new DistributionRegistry(
        name,
        { address: "192.0.2.10", username: "admin", password: pulumi.secret(password), ...args },
        {
            transformations: [
                a => {
                    options.set(a.name, a.opts as pulumi.CustomResourceOptions);
                    return undefined;
                },
            ],
        },
    );
    const start = registered.length;
    await (component.url as any).promise().catch(() => undefined);
    await settled(registered, component);
    const mine = registered
        .slice(start)
        .filter(r => r.name.startsWith(name))
        .map(r => ({ ...r, inputs: plain(r.inputs), raw: r.inputs }));
    const one = (resourceName: string) => mine.find(r => r.name === resourceName);
    return { component, options, resources: mine, one };
}

/** The node-trust container's environment, as name -> value (or the field a value comes from). */
function environment(daemonSet: any): Record<string, string> {
    return Object.fromEntries(
        daemonSet.inputs.spec.template.spec.containers[0].env.map((e: any) => [
            e.name,
            e.value ?? `from ${e.valueFrom.fieldRef.fieldPath}`,
        ]),
    );
}

describe("node trust and KEP-1755 under mocks", () => {
    test("by default: the DaemonSet, the ConfigMap of its script, and kube-public/local-registry-hosting", async () => {
        const { resources, options, one } = await build("pulls");
        const pulling = resources.filter(r => /node-trust|local-registry-hosting/.test(r.name));
        expect(pulling.map(r => `${r.type} ${r.name}`).sort()).toEqual([
            "kubernetes:apps/v1:DaemonSet pulls-node-trust",
            "kubernetes:core/v1:ConfigMap pulls-local-registry-hosting",
            "kubernetes:core/v1:ConfigMap pulls-node-trust-script",
        ]);
        // The pods mount the ConfigMap: it exists before them.
        const dependsOn = (options.get("pulls-node-trust")!.dependsOn as pulumi.Resource[]) ?? [];
        expect(dependsOn).toHaveLength(1);
        expect(await valueOf((dependsOn[0] as any).metadata.name)).toBe("pulls-node-trust");
        expect(one("pulls-node-trust")!.inputs.metadata).toEqual({
            name: "pulls-node-trust",
            namespace: "examples",
            labels: {
                "app.kubernetes.io/name": "registry-node-trust",
                "app.kubernetes.io/instance": "pulls",
                "app.kubernetes.io/managed-by": "pulumi",
                "app.kubernetes.io/part-of": "distribution-registry",
            },
        });
    });

    test("with createNamespace the DaemonSet and its ConfigMap wait for the namespace", async () => {
        const { options } = await build("ns", { createNamespace: true });
        for (const name of ["ns-node-trust", "ns-node-trust-script"]) {
            const names = await Promise.all(
                ((options.get(name)!.dependsOn as pulumi.Resource[]) ?? []).map(r => valueOf((r as any).urn)),
            );
            expect(`${name}: ${names.some(u => String(u).endsWith("::ns-namespace"))}`).toBe(`${name}: true`);
        }
    });

    test("the DaemonSet runs the script from its ConfigMap in the registry's image, with least privilege", async () => {
        const { one } = await build("priv", { image: "registry:3.0.0" });
        const spec = one("priv-node-trust")!.inputs.spec;
        const pod = spec.template.spec;
        expect(pod.containers).toHaveLength(1);
        const container = pod.containers[0];
        expect(container.image).toBe("registry:3.0.0");
        expect(container.command).toEqual(["/bin/sh", "/node-trust/nodeTrust.sh", "run"]);
        expect(container.readinessProbe.exec.command).toEqual(["/bin/sh", "/node-trust/nodeTrust.sh", "ready"]);
        expect(container.securityContext).toEqual({
            runAsUser: 0,
            runAsGroup: 0,
            runAsNonRoot: false,
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ["ALL"] },
        });
        expect(pod.securityContext).toEqual({ seccompProfile: { type: "RuntimeDefault" } });
        expect(pod.automountServiceAccountToken).toBe(false);
        for (const hostAccess of ["hostNetwork", "hostPID", "hostIPC"]) {
            expect(`${hostAccess}: ${pod[hostAccess] ?? "unset"}`).toBe(`${hostAccess}: unset`);
        }
        // Two host paths, no more: containerd's certs directory and the hosts file.
        expect(pod.volumes).toEqual([
            {
                name: "certs",
                hostPath: { path: "/var/lib/rancher/k3s/agent/etc/containerd/certs.d", type: "DirectoryOrCreate" },
            },
            { name: "hosts", hostPath: { path: "/etc/hosts", type: "File" } },
            { name: "script", configMap: { name: "priv-node-trust" } },
            { name: "state", emptyDir: {} },
        ]);
        expect(container.volumeMounts).toEqual([
            { name: "certs", mountPath: "/host/certs.d" },
            { name: "hosts", mountPath: "/host/hosts" },
            { name: "script", mountPath: "/node-trust", readOnly: true },
            { name: "state", mountPath: "/tmp" },
        ]);
        expect(pod.tolerations).toEqual([{ operator: "Exists" }]);
        expect(pod.nodeSelector).toEqual({ "kubernetes.io/os": "linux" });
        // One node at a time, the old pod (and its files) gone before the new one starts.
        expect(spec.updateStrategy).toEqual({
            type: "RollingUpdate",
            rollingUpdate: { maxUnavailable: 1, maxSurge: 0 },
        });
    });

    test("its pods are never the registry's: neither the Service nor the registry's affinity selects them", async () => {
        const { one } = await build("sel");
        const podLabels = one("sel-node-trust")!.inputs.spec.template.metadata.labels;
        const selects = (selector: Record<string, string>) =>
            Object.entries(selector).every(([k, v]) => podLabels[k] === v);
        const service = one("sel-service")!.inputs.spec.selector;
        expect(Object.keys(service)).toHaveLength(2);
        expect(selects(service)).toBe(false);
        const daemonSetSelector = one("sel-node-trust")!.inputs.spec.selector.matchLabels;
        expect(selects(daemonSetSelector)).toBe(true);
        const registryPodLabels = one("sel-deployment")!.inputs.spec.template.metadata.labels;
        expect(Object.entries(daemonSetSelector)).toHaveLength(2);
        expect(Object.entries(daemonSetSelector).every(([k, v]) => registryPodLabels[k] === v)).toBe(false);
    });

    test("every value reaches the script through its environment, from the settings and the resolved Outputs", async () => {
        const { one } = await build("env", {
            address: pulumi.output("192.0.2.44"),
            hostname: "reg.example.com",
            port: 8443,
            nodeTrust: { certsDir: "/etc/containerd/certs.d", hostsFile: "/etc/hosts.node" },
            workstation: { owner: "team/registry" },
        });
        expect(environment(one("env-node-trust"))).toEqual({
            DR_CERTS_DIR: "/host/certs.d",
            DR_HOSTS_FILE: "/host/hosts",
            DR_NODE_CERTS_DIR: "/etc/containerd/certs.d",
            DR_NODE_HOSTS_FILE: "/etc/hosts.node",
            DR_REGISTRY: "reg.example.com:8443",
            DR_HOSTNAME: "reg.example.com",
            DR_ADDRESS: "192.0.2.44",
            DR_OWNER: "team/registry",
            DR_TLS: "ca",
            DR_CA_FILE: "/node-trust/ca.crt",
            DR_STATE_DIR: "/tmp",
            DR_CHECK_SECONDS: "30",
            POD_UID: "from metadata.uid",
        });
        expect(one("env-node-trust")!.inputs.spec.template.spec.volumes.slice(0, 2)).toEqual([
            { name: "certs", hostPath: { path: "/etc/containerd/certs.d", type: "DirectoryOrCreate" } },
            { name: "hosts", hostPath: { path: "/etc/hosts.node", type: "File" } },
        ]);
        const owner = await build("owner");
        expect(environment(owner.one("owner-node-trust")!).DR_OWNER).toBe("distribution-registry/test/owner");
    });

    test("the script ConfigMap holds the script byte for byte and the CA; the pods' checksum follows both", async () => {
        const { one, component } = await build("script");
        const data = one("script-node-trust-script")!.inputs.data;
        expect(Object.keys(data).sort()).toEqual(["ca.crt", "nodeTrust.sh"]);
        expect(data["nodeTrust.sh"]).toBe(fs.readFileSync(nodeTrustScriptFile, "utf8"));
        expect(data["ca.crt"]).toBe(await valueOf(component.caCertificate));
        const checksum = (r: any) => r.inputs.spec.template.metadata.annotations["checksum/node-trust"];
        expect(checksum(one("script-node-trust"))).toBe(nodeTrustChecksum(data));
        const withCa = (name: string, ca: string) =>
            build(name, {
                tls: { mode: "secret", secretName: "mine" },
                workstation: { dockerTrust: { caCertificate: ca } },
            });
        const a = await withCa("ca-a", userCa);
        const b = await withCa("ca-b", otherCa);
        expect(checksum(a.one("ca-a-node-trust"))).not.toBe(checksum(b.one("ca-b-node-trust")));
        expect(a.one("ca-a-node-trust-script")!.inputs.data["ca.crt"]).toBe(userCa);
    });

    test.each([
        ["generated (the default)", "ca", {}, true],
        ["ingressDefault, the seed's setup", "skipVerify", { tls: { mode: "ingressDefault" } }, false],
        [
            "ingressDefault with a CA given",
            "ca",
            { tls: { mode: "ingressDefault" }, workstation: { dockerTrust: { mode: "ca", caCertificate: userCa } } },
            true,
        ],
        [
            "secret with its CA",
            "ca",
            { tls: { mode: "secret", secretName: "mine" }, workstation: { dockerTrust: { caCertificate: userCa } } },
            true,
        ],
        ["secret from a public CA", "system", { tls: { mode: "secret", secretName: "mine" } }, false],
    ] as [string, string, Partial<DistributionRegistryArgs>, boolean][])(
        "tls %s: the nodes verify with %s",
        async (_case, nodeTls, args, withCa) => {
            const name = `tls-${nodeTls}-${withCa}`;
            const { one } = await build(name, args);
            const env = environment(one(`${name}-node-trust`));
            expect(env.DR_TLS).toBe(nodeTls);
            expect(env.DR_CA_FILE ?? "none").toBe(withCa ? "/node-trust/ca.crt" : "none");
            expect(Object.keys(one(`${name}-node-trust-script`)!.inputs.data).sort()).toEqual(
                withCa ? ["ca.crt", "nodeTrust.sh"] : ["nodeTrust.sh"],
            );
        },
    );

    test("nothing secret reaches them: no password, pull password or htpasswd, and nothing is wrapped as secret", async () => {
        const { resources } = await build("nosecret");
        const pulling = resources.filter(r => /node-trust|local-registry-hosting/.test(r.name));
        expect(pulling).toHaveLength(3);
        const text = JSON.stringify(pulling.map(r => r.inputs));
        for (const secret of [password, "random-nosecret-pull-password", "$2y$05$"]) {
            expect(text.includes(secret) ? `holds ${secret}` : "clean").toBe("clean");
        }
        expect(pulling.map(r => `${r.name}: ${wasSecret(r.raw.data ?? r.raw.spec)}`)).toEqual(
            pulling.map(r => `${r.name}: false`),
        );
    });

    test("KEP-1755's ConfigMap: kube-public/local-registry-hosting with host, the runtime's host, the Service and help", async () => {
        const { one } = await build("kep", {
            hostname: "reg.example.com",
            port: 8443,
            namespace: "tools",
            localRegistryHosting: { help: "https://wiki.example.com/registry" },
        });
        const configMap = one("kep-local-registry-hosting")!.inputs;
        expect(configMap.metadata.name).toBe("local-registry-hosting");
        expect(configMap.metadata.namespace).toBe("kube-public");
        expect(configMap.data).toEqual({
            "localRegistryHosting.v1": [
                'host: "reg.example.com:8443"',
                'hostFromContainerRuntime: "reg.example.com:8443"',
                'hostFromClusterNetwork: "kep.tools.svc:5000"',
                'help: "https://wiki.example.com/registry"',
                "",
            ].join("\n"),
        });
        const byDefault = await build("kepdefault");
        expect(byDefault.one("kepdefault-local-registry-hosting")!.inputs.data["localRegistryHosting.v1"]).toContain(
            'help: "https://distribution.github.io/distribution/"\n',
        );
    });

    test("turned off, none of them is created; skipAwait reaches the DaemonSet", async () => {
        const off = await build("off", { nodeTrust: { enabled: false }, localRegistryHosting: { enabled: false } });
        expect(off.resources.filter(r => /node-trust|local-registry-hosting/.test(r.name)).map(r => r.name)).toEqual(
            [],
        );
        expect(off.resources.map(r => r.type)).toContain("kubernetes:apps/v1:Deployment");
        const onlyKep = await build("onlykep", { nodeTrust: { enabled: false } });
        expect(
            onlyKep.resources.filter(r => /node-trust|local-registry-hosting/.test(r.name)).map(r => r.name),
        ).toEqual(["onlykep-local-registry-hosting"]);
        const skip = await build("skip", { skipAwait: true });
        expect(skip.one("skip-node-trust")!.inputs.metadata.annotations).toEqual({ "pulumi.com/skipAwait": "true" });
    });
});
