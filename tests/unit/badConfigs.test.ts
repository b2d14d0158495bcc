import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { installMocks, Registered, settled } from "./mocks";

const registered: Registered[] = installMocks();
// Imported after the mocks, as the engine would load it.
import { registryFromConfig } from "../../components/program";

/*
 * Bad configurations through the program's own path (stack config -> readCredentials -> argsFromConfig ->
 * DistributionRegistry), with the real pulumi.Config. Each must fail with one line that starts with the
 * config key and says the fix, as a RunError (printed alone, no stack trace), with no wrapper prefix, before
 * any resource is registered and without changing a file. BAD_CONFIG_TABLE=<file> writes the table.
 */

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dr-bad-config-"));
const hostsFile = path.join(dir, "hosts");
const dockerDir = path.join(dir, "docker");
const daemonJson = path.join(dockerDir, "daemon.json");
const notPem = path.join(dir, "not-a-cert.pem");
const stateFile = path.join(dir, "terraform.tfstate");
const brokenState = path.join(dir, "broken.tfstate");
const files: Record<string, string> = {
    [hostsFile]: "127.0.0.1 localhost\n",
    [notPem]: "hello\n",
    [stateFile]: JSON.stringify({ version: 4, outputs: { vm_public_ip: { value: "192.0.2.10", type: "string" } } }),
    [brokenState]: "{ not json",
    [path.join(dir, "hosts-with-manual-line")]: "127.0.0.1 localhost\n10.9.9.9 Registry.Test\n",
};
const daemonJsons: Record<string, string> = {
    "trailing comma": '{"debug": true,}',
    "an array": '["not", "an object"]',
    "a string list": '{"insecure-registries": "registry.test"}',
    "numbers in the list": '{"insecure-registries": [5000]}',
    "a duplicate key": '{"insecure-registries": [], "insecure-registries": ["a.test"]}',
};

/** A configuration that works: every case changes one key of it. */
const good: Record<string, string> = {
    address: "192.0.2.10",
    username: "admin",
    password: "pw",
    hostsFile,
    dockerDaemonConfig: daemonJson,
    dockerCertsDir: path.join(dockerDir, "certs.d"),
    terraformDir: path.join(dir, "no-terraform-here"),
};

type Case = [string, Record<string, string | undefined>, string];
const cases: Case[] = [
    ["address", { address: "registry.test" }, "address"],
    ["address", { address: "999.1.1.1" }, "address"],
    ["address", { address: "192.0.2.10; rm -rf /" }, "address"],
    ["username", { username: "ad:min" }, "username"],
    ["username", { username: "ad\nmin" }, "username"],
    ["username", { username: undefined }, "terraformDir"],
    ["password", { password: "pass\nword" }, "password"],
    ["pullUsername", { pullUsername: "pull:er" }, "pullUsername"],
    ["gcSchedule", { gcSchedule: "every sunday" }, "gcSchedule"],
    ["gcDeleteUntagged", { gcDeleteUntagged: "true" }, "gcDeleteUntagged"],
    ["gcDeleteUntagged", { gcDeleteUntagged: "yes" }, "gcDeleteUntagged"],
    ["gcKubectlImage", { gcKubectlImage: "kubectl image" }, "gcKubectlImage"],
    ["pullUsername", { pullUsername: "admin" }, "username"],
    ["password", { password: "x".repeat(73) }, "password"],
    ["hostname", { hostname: "192.0.2.10" }, "hostname"],
    ["hostname", { hostname: "2001:db8::1" }, "hostname"],
    ["hostname", { hostname: "registry.123" }, "hostname"],
    ["hostname", { hostname: "Registry.Test" }, "hostname"],
    ["hostname", { hostname: "https://registry.test" }, "hostname"],
    ["hostname", { hostname: "registry.test:5000" }, "hostname"],
    ["port", { port: "0" }, "port"],
    ["port", { port: "70000" }, "port"],
    ["port", { port: "https" }, "port"],
    ["namespace", { namespace: "My_NS" }, "namespace"],
    ["namespace", { namespace: "a".repeat(64) }, "namespace"],
    ["image", { image: "Registry:latest" }, "image"],
    ["image", { image: "registry:2 ; rm -rf /" }, "image"],
    ["replicas", { replicas: "0" }, "replicas"],
    ["replicas", { replicas: "1.5" }, "replicas"],
    ["replicas", { replicas: "2" }, "replicas"],
    ["replicas", { replicas: "2", storageType: "persistentVolumeClaim" }, "replicas"],
    ["storageType", { storageType: "hostPath" }, "storageType"],
    ["storageType", { storageType: "emptydir" }, "storageType"],
    [
        "storageAccessMode",
        { storageType: "persistentVolumeClaim", storageAccessMode: "ReadWriteAll" },
        "storageAccessMode",
    ],
    ["storageAccessMode", { storageAccessMode: "rwx" }, "storageAccessMode"],
    ["storageSize", { storageType: "persistentVolumeClaim", storageSize: "10GB" }, "storageSize"],
    ["storageSize", { storageSize: "0" }, "storageSize"],
    ["storageSize", { storageSize: "lots" }, "storageSize"],
    ["storageSize", { storageSize: "10gi" }, "storageSize"],
    ["storageSize", { storageSize: "10m" }, "storageSize"],
    ["existingClaim", { existingClaim: "My Claim" }, "existingClaim"],
    ["existingClaim", { existingClaim: "data", storageType: "emptyDir" }, "existingClaim"],
    ["storageClass", { storageType: "persistentVolumeClaim", storageClass: "Fast SSD" }, "storageClass"],
    ["cpuRequest", { cpuRequest: "fast" }, "cpuRequest"],
    ["cpuRequest", { cpuRequest: "-1" }, "cpuRequest"],
    ["cpuRequest", { cpuRequest: "0" }, "cpuRequest"],
    ["memoryRequest", { memoryRequest: "64m" }, "memoryRequest"],
    ["memoryRequest", { memoryRequest: "64MB" }, "memoryRequest"],
    ["memoryLimit", { memoryLimit: "0Mi" }, "memoryLimit"],
    ["bcryptCost", { bcryptCost: "3" }, "bcryptCost"],
    ["bcryptCost", { bcryptCost: "32" }, "bcryptCost"],
    ["bcryptCost", { bcryptCost: "ten" }, "bcryptCost"],
    ["createNamespace", { createNamespace: "yes" }, "createNamespace"],
    ["skipAwait", { skipAwait: "maybe" }, "skipAwait"],
    ["ingressAnnotations", { ingressAnnotations: '["nope"]' }, "ingressAnnotations"],
    ["ingressAnnotations", { ingressAnnotations: '"a=b"' }, "ingressAnnotations"],
    ["hostsSudo", { hostsSudo: "sometimes" }, "hostsSudo"],
    ["hostsSudo", { hostsSudo: "Never" }, "hostsSudo"],
    ["dockerSudo", { dockerSudo: "yes" }, "dockerSudo"],
    ["dockerTrust", { dockerTrust: "secure" }, "dockerTrust"],
    ["dockerTrust", { tls: "ingressDefault", dockerTrust: "ca" }, "dockerCaFile"],
    [
        "dockerCaFile",
        { tls: "ingressDefault", dockerTrust: "ca", dockerCaFile: path.join(dir, "missing.pem") },
        "dockerCaFile",
    ],
    ["dockerCaFile", { tls: "ingressDefault", dockerTrust: "ca", dockerCaFile: notPem }, "dockerCaFile"],
    ["dockerCaFile", { dockerCaFile: "<valid>" }, "dockerCaFile"],
    ["tls", { tls: "selfSigned" }, "tls"],
    ["tls", { tls: "Generated" }, "tls"],
    ["tls", { tls: "secret" }, "tlsSecretName"],
    ["tlsSecretName", { tls: "generated", tlsSecretName: "registry-tls" }, "tlsSecretName"],
    ["tlsSecretName", { tlsSecretName: "Registry_TLS" }, "tlsSecretName"],
    ["tlsValidityDays", { tlsValidityDays: "0" }, "tlsValidityDays"],
    ["tlsValidityDays", { tlsValidityDays: "1000" }, "tlsValidityDays"],
    ["tlsValidityDays", { tlsValidityDays: "30.5" }, "tlsValidityDays"],
    ["tlsCaValidityDays", { tlsCaValidityDays: "365" }, "tlsCaValidityDays"],
    ["traefikReadTimeoutSeconds", { traefikReadTimeoutSeconds: "-5" }, "traefikReadTimeoutSeconds"],
    ["port", { port: "443x" }, "port"],
    ["traefikReadTimeoutSeconds", { traefikReadTimeoutSeconds: "10m" }, "traefikReadTimeoutSeconds"],
    ["dockerRestartCommand", { dockerRestartCommand: '"sudo systemctl restart docker"' }, "dockerRestartCommand"],
    ["dockerRestartCommand", { dockerRestartCommand: '["", "restart"]' }, "dockerRestartCommand"],
    ["pushTool", { pushTool: "podman" }, "pushTool"],
    ["pushTool", { pushTool: "Docker" }, "pushTool"],
    ["pushImages", { pushImages: "[]" }, "pushImages"],
    ["pushImages", { pushImages: '"nginx"' }, "pushImages"],
    ["pushImages", { pushImages: '["nginx=repo:a:b"]' }, "pushImages[0]"],
    ["pushImages", { pushImages: '["=web:1"]' }, "pushImages[0]"],
    ["pushImages", { pushImages: '["nginx=web:"]' }, "pushImages[0]"],
    ["pushImages", { pushImages: '["docker://nginx"]' }, "pushImages[0].source"],
    ["pushImages", { pushImages: '["docker://"]', pushTool: "skopeo" }, "pushImages[0].source"],
    ["pushImages", { pushImages: '["nginx;rm -rf /"]' }, "pushImages[0].source"],
    ["pushImages", { pushImages: '["oci-archive:/tmp/app.tar"]', pushTool: "skopeo" }, "pushImages[0].repository"],
    ["pushImages", { pushImages: '["oci-archive:/tmp/app.tar=app"]' }, "pushImages[0].source"],
    ["pushImages", { pushImages: '["nginx=Web"]' }, "pushImages[0].repository"],
    ["pushImages", { pushImages: '["nginx=web:-bad"]' }, "pushImages[0].tag"],
    ["pushImages", { pushImages: '["nginx", "nginx:latest"]' }, "pushImages[1]"],
    ["pushPlatform", { pushPlatform: "amd64" }, "pushPlatform"],
    ["pushPlatform", { pushPlatform: "linux/AMD64" }, "pushPlatform"],
    ["hostsFile", { hostsFile: path.join(dir, "missing", "hosts") }, "hostsFile"],
    ["hostsFile", { hostsFile: dir }, "hostsFile"],
    ["hostsFile", { hostsFile: "hosts" }, "hostsFile"],
    ["hostsFile", { hostsFile: "~/hosts" }, "hostsFile"],
    ["hostsFile", { hostsFile: path.join(dir, "hosts-with-manual-line") }, "hostsFile"],
    ...Object.entries(daemonJsons).map(
        ([what]) =>
            [
                "dockerDaemonConfig",
                {
                    dockerTrust: "insecure",
                    dockerDaemonConfig: path.join(dockerDir, `${what.replace(/ /g, "-")}.json`),
                },
                "dockerDaemonConfig",
            ] as Case,
    ),
    [
        "dockerDaemonConfig",
        { dockerTrust: "insecure", dockerDaemonConfig: path.join(dir, "no-docker", "daemon.json") },
        "dockerDaemonConfig",
    ],
    ["dockerDaemonConfig", { dockerTrust: "insecure", dockerDaemonConfig: dockerDir }, "dockerDaemonConfig"],
    ["dockerDaemonConfig", { dockerTrust: "insecure", dockerDaemonConfig: "daemon.json" }, "dockerDaemonConfig"],
    [
        "dockerCertsDir",
        {
            tls: "ingressDefault",
            dockerTrust: "ca",
            dockerCaFile: "<valid>",
            dockerCertsDir: path.join(dir, "no", "certs.d"),
        },
        "dockerCertsDir",
    ],
    ["dockerCertsDir", { dockerCertsDir: path.join(dir, "no", "certs.d") }, "dockerCertsDir"],
    ["verifyDeadlineSeconds", { verifyDeadlineSeconds: "0" }, "verifyDeadlineSeconds"],
    ["verifyDeadlineSeconds", { verifyDeadlineSeconds: "soon" }, "verifyDeadlineSeconds"],
    // --- S3 storage, replicas, cache and metrics (issue 17) ---
    ["storageType", { storageType: "s3" }, "s3Bucket"],
    ["storageType", { storageType: "S3", s3Bucket: "images" }, "storageType"],
    ["s3Bucket", { s3Bucket: "images" }, "s3Bucket"],
    ["s3Bucket", { storageType: "s3", s3Bucket: "s3://images" }, "s3Bucket"],
    [
        "s3RegionEndpoint",
        { storageType: "s3", s3Bucket: "images", s3RegionEndpoint: "seaweedfs:8333" },
        "s3RegionEndpoint",
    ],
    ["s3Region", { storageType: "s3", s3Bucket: "images", s3Region: "US East" }, "s3Region"],
    ["s3RootDirectory", { storageType: "s3", s3Bucket: "images", s3RootDirectory: "/a/../b" }, "s3RootDirectory"],
    ["s3AccessKey", { storageType: "s3", s3Bucket: "images", s3AccessKey: "AKIA" }, "s3SecretKey"],
    [
        "s3CredentialsSecret",
        { storageType: "s3", s3Bucket: "images", s3AccessKey: "a", s3SecretKey: "b", s3CredentialsSecret: "keys" },
        "s3CredentialsSecret",
    ],
    [
        "s3CredentialsSecretAccessKeyKey",
        { storageType: "s3", s3Bucket: "images", s3CredentialsSecret: "keys", s3CredentialsSecretAccessKeyKey: "a k" },
        "s3CredentialsSecretAccessKeyKey",
    ],
    ["existingClaim", { existingClaim: "data", storageType: "s3", s3Bucket: "images" }, "existingClaim"],
    ["replicas", { replicas: "2", storageType: "emptyDir" }, "replicas"],
    ["redisAddress", { redisAddress: "redis" }, "redisAddress"],
    ["redisAddress", { redisAddress: "redis:6379", image: "registry:latest" }, "imageMajorVersion"],
    ["redisPassword", { redisPassword: "pw" }, "redisPassword"],
    [
        "redisPasswordSecret",
        { redisAddress: "redis:6379", redisPassword: "pw", redisPasswordSecret: "r" },
        "redisPasswordSecret",
    ],
    ["redisDb", { redisAddress: "redis:6379", redisDb: "-1" }, "redisDb"],
    ["metricsPort", { metrics: "true", metricsPort: "5000" }, "metricsPort"],
    ["serviceMonitor", { serviceMonitor: "true" }, "serviceMonitor"],
    // --- end of issue 17's cases ---
    ["terraformDir", { address: undefined }, "terraformDir"],
    [
        "terraformStateFile",
        { password: undefined, terraformStateFile: path.join(dir, "missing.tfstate") },
        "terraformStateFile",
    ],
    ["terraformStateFile", { address: undefined, terraformStateFile: brokenState }, "terraformStateFile"],
    [
        "terraformUsernameOutput",
        { username: undefined, terraformStateFile: stateFile, terraformUsernameOutput: "registry_user" },
        "terraformUsernameOutput",
    ],
    [
        "terraformBinary",
        { address: undefined, terraformDir: dir, terraformBinary: "no-such-terraform" },
        "terraformBinary",
    ],
    // The cluster pulling from it (issue 18): paths on the nodes, and the KEP-1755 help URL.
    ["nodeTrust", { nodeTrust: "on" }, "nodeTrust"],
    ["nodeTrustCertsDir", { nodeTrustCertsDir: "etc/containerd/certs.d" }, "nodeTrustCertsDir"],
    ["nodeTrustCertsDir", { nodeTrustCertsDir: "/etc/containerd/../certs.d" }, "nodeTrustCertsDir"],
    ["nodeTrustCertsDir", { nodeTrustCertsDir: "/etc/containerd/certs.d/" }, "nodeTrustCertsDir"],
    ["nodeTrustCertsDir", { nodeTrustCertsDir: "/" }, "nodeTrustCertsDir"],
    ["nodeTrustHostsFile", { nodeTrustHostsFile: "/etc/hosts\n/etc/passwd" }, "nodeTrustHostsFile"],
    ["nodeTrustHostsFile", { nodeTrustHostsFile: "~/hosts" }, "nodeTrustHostsFile"],
    ["localRegistryHosting", { localRegistryHosting: "no" }, "localRegistryHosting"],
    ["localRegistryHostingHelp", { localRegistryHostingHelp: "our wiki" }, "localRegistryHostingHelp"],
    [
        "localRegistryHostingHelp",
        { localRegistryHostingHelp: "ftp://wiki.example.com/registry" },
        "localRegistryHostingHelp",
    ],
];

/** Every file the cases point at, with its bytes, to prove nothing was changed. */
function snapshot(): Record<string, string> {
    const all: Record<string, string> = {};
    const walk = (d: string) => {
        for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
            const p = path.join(d, entry.name);
            all[p] = entry.isDirectory() ? "<dir>" : fs.readFileSync(p, "utf8");
            if (entry.isDirectory()) {
                walk(p);
            }
        }
    };
    walk(dir);
    return all;
}

async function run(
    config: Record<string, string | undefined>,
): Promise<{ error?: Error; registered: number; names: string[] }> {
    const values = { ...good, ...config };
    const all: Record<string, string> = {};
    for (const [key, value] of Object.entries(values)) {
        if (value !== undefined) {
            all[`distribution-registry:${key}`] = value;
        }
    }
    pulumi.runtime.setAllConfig(all, ["distribution-registry:password"]);
    const before = registered.length;
    let error: Error | undefined;
    let component: object | undefined;
    try {
        component = await registryFromConfig(new pulumi.Config());
    } catch (e) {
        error = e as Error;
    }
    await settled(registered, component);
    const mine = registered.slice(before);
    return { error, registered: mine.length, names: mine.map(r => `${r.type} ${r.name}`).sort() };
}

describe("bad configurations through the program's config path", () => {
    const rows: string[] = [];
    const cert = (() => {
        const { makeSelfSignedCertificate } = require("../support/tls");
        return makeSelfSignedCertificate(path.join(dir, "tls"), "registry.test").certPem as string;
    })();
    beforeAll(() => {
        fs.mkdirSync(dockerDir, { recursive: true });
        for (const [file, text] of Object.entries(files)) {
            fs.writeFileSync(file, text);
        }
        for (const [what, text] of Object.entries(daemonJsons)) {
            fs.writeFileSync(path.join(dockerDir, `${what.replace(/ /g, "-")}.json`), text);
        }
        fs.writeFileSync(path.join(dir, "ca.pem"), cert);
    });
    afterAll(() => {
        fs.rmSync(dir, { recursive: true, force: true });
        if (process.env.BAD_CONFIG_TABLE) {
            const header = "| # | config | first line of the error |\n|---|---|---|\n";
            fs.writeFileSync(process.env.BAD_CONFIG_TABLE, header + rows.join("\n") + "\n");
        }
    });

    test("the good configuration builds every resource (the cases below differ from it in one value)", async () => {
        const { error, names } = await run({});
        expect(error).toBeUndefined();
        expect(names).toEqual([
            "command:local:Command registry-docker-trust",
            "command:local:Command registry-hosts-entry",
            "command:local:Command registry-image-push",
            "command:local:Command registry-tls-keys",
            "distribution-registry:index:DistributionRegistry registry",
            "kubernetes:apps/v1:DaemonSet registry-node-trust",
            "kubernetes:apps/v1:Deployment registry-deployment",
            "kubernetes:batch/v1:CronJob registry-gc",
            "kubernetes:core/v1:ConfigMap registry-config",
            "kubernetes:core/v1:ConfigMap registry-local-registry-hosting",
            "kubernetes:core/v1:ConfigMap registry-node-trust-script",
            "kubernetes:core/v1:PersistentVolumeClaim registry-data",
            "kubernetes:core/v1:Secret registry-secret",
            "kubernetes:core/v1:Secret registry-tls",
            "kubernetes:core/v1:Service registry-service",
            "kubernetes:core/v1:ServiceAccount registry-gc",
            "kubernetes:networking.k8s.io/v1:Ingress registry-ingress",
            "kubernetes:rbac.authorization.k8s.io/v1:Role registry-gc",
            "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding registry-gc",
            "pulumi-nodejs:dynamic/registry:CatalogCheck registry-catalog",
            "pulumi-nodejs:dynamic/registry:TagsCheck registry-tags-nginx",
            "pulumi:providers:pulumi-nodejs registry-checks",
            "random:index/randomPassword:RandomPassword registry-bcrypt-salt-key",
            "random:index/randomPassword:RandomPassword registry-http-secret",
            "random:index/randomPassword:RandomPassword registry-pull-password",
        ]);
    });

    test(`${cases.length} bad configurations: one line naming the key and the fix, nothing registered, no file changed`, async () => {
        expect(cases).toHaveLength(146);
        const failures: string[] = [];
        let n = 0;
        for (const [, change, input] of cases) {
            const config = { ...change };
            if (config.dockerCaFile === "<valid>") {
                config.dockerCaFile = path.join(dir, "ca.pem");
            }
            const before = snapshot();
            const { error, registered: count } = await run(config);
            const shown = Object.entries(change)
                .map(([k, v]) => (v === undefined ? `${k} unset` : `${k}=${JSON.stringify(v).replace(dir, "<tmp>")}`))
                .join(", ");
            if (!error) {
                failures.push(`${shown}: accepted`);
                continue;
            }
            const lines = error.message.split("\n");
            const first = lines[0];
            rows.push(
                `| ${++n} | \`${shown.replace(/\|/g, "\\|")}\` | ${first.split(dir).join("<tmp>").replace(/\|/g, "\\|")} |`,
            );
            const problems = [
                !first.startsWith(`${input}: `) && !first.startsWith(`${input} `)
                    ? `does not start with "${input}"`
                    : "",
                lines.length > 1 ? "more than one line" : "",
                /error serializing|Error:|unhandled|\n\s+at /.test(error.message) ? "wrapper noise" : "",
                !pulumi.RunError.isInstance(error)
                    ? `not a RunError (${(error as Error).name}), so printed with a stack trace`
                    : "",
                // The fix: a sentence after the problem that tells what to do.
                !/\. (Use|Set|Give|Write|Make|Fix|Choose|Drop|List|Merge|Run|Name|Add|Unset|Install|Check|Remove)\b/.test(
                    first,
                )
                    ? "no fix sentence"
                    : "",
                count !== 0 ? `${count} resources registered` : "",
                JSON.stringify(snapshot()) !== JSON.stringify(before) ? "a file changed" : "",
            ].filter(Boolean);
            if (problems.length) {
                failures.push(`${shown}: ${problems.join("; ")}: ${first}`);
            }
        }
        expect(failures).toEqual([]);
        // Every case was refused with its row written: none skipped by the loop.
        expect(n).toBe(cases.length);
    }, 120000);
});
