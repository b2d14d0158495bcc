import * as childProcess from "child_process";
import * as fs from "fs";
import * as path from "path";

const root = path.join(__dirname, "..", "..");

/** Runs index.ts as the language host would, under mocks, with this stack config. */
function runProgram(config: Record<string, string>) {
    const run = childProcess.spawnSync(
        "npx",
        ["ts-node", "--transpile-only", path.join(__dirname, "fixtures", "runProgram.ts"), JSON.stringify(config)],
        { encoding: "utf8", cwd: root },
    );
    return { ...JSON.parse(run.stdout), stderr: run.stderr };
}

describe("the first run of a new user", () => {
    test("a user error at preview is one sentence: a RunError, no rejection warnings, no wrapper prefixes, nothing registered", () => {
        const run = runProgram({ terraformDir: "/nonexistent/infra" });
        expect(run.ok).toBe(false);
        expect(run.message).toMatch(
            /^terraformDir: directory \/nonexistent\/infra does not exist\. Set terraformDir to .*$/,
        );
        expect(run.runError).toBe(true);
        expect(run.rejections).toEqual([]);
        expect(run.stderr).not.toMatch(/PromiseRejectionHandledWarning|UnhandledPromiseRejection|error serializing/);
        expect(run.registered).toEqual([]);
    }, 60000);

    test("the program builds every resource of this configuration and exports the documented outputs", () => {
        const run = runProgram({
            address: "192.0.2.10",
            username: "admin",
            password: "pw",
            hostsEntry: "false",
            dockerTrust: "none",
        });
        expect(run.ok).toBe(true);
        expect(run.outputs.sort()).toEqual([
            "caCertificate",
            "digests",
            "hostname",
            "htpasswd",
            "imagePullSecretName",
            "namespace",
            "pullPassword",
            "pullUsername",
            "pushedImages",
            "serviceName",
            "url",
        ]);
        // hostsEntry false and dockerTrust none: no Command edits the workstation but the push.
        expect(run.registered).toEqual([
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
        expect(run.stderr).not.toMatch(/Warning/);
    }, 60000);

    test("the README's one command creates the local backend's directory that Pulumi.yaml names", () => {
        const backend = /backend:\s*\n\s+url:\s*(\S+)/.exec(
            fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8"),
        )![1];
        expect(backend).toMatch(/^file:\/\/~\//);
        const directory = backend.replace(/^file:\/\//, "");
        const readme = fs.readFileSync(path.join(root, "README.md"), "utf8");
        const command = /```(?:sh|bash)?\n(.*pulumi stack select.*pulumi up.*)\n```/.exec(readme)![1];
        // The file backend does not create its directory: the command must, before any pulumi command.
        const mkdir = command.indexOf(`mkdir -p ${directory}`);
        expect(mkdir).toBeGreaterThanOrEqual(0);
        expect(mkdir).toBeLessThan(command.indexOf("pulumi "));
    });
});
