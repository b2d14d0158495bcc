import * as childProcess from "child_process";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { installMocks, plain, Registered, settled, valueOf, wasSecret } from "./mocks";
import { renderHtpasswd } from "../../components/htpasswd";
import { podChecksum } from "../../components/templates/registryPod";

const registered: Registered[] = installMocks();
// Imported after the mocks, as the engine would load it.
import { DistributionRegistry, DistributionRegistryArgs } from "../../components";

const password = "Tf-p@ss w\"ord'$(x)";

/** Builds the component, records each child's parent, and waits until every registration is in. */
async function build(name: string, args: Partial<DistributionRegistryArgs> = {}) {
    const parents = new Map<string, pulumi.Resource | undefined>();
    const component = new DistributionRegistry(
        name,
        {
            address: "192.0.2.10",
            username: "admin",
            password: pulumi.secret(password),
            ...args,
        },
        {
            transformations: [
                a => {
                    parents.set(a.name, a.opts.parent);
                    return undefined;
                },
            ],
        },
    );
    const start = registered.length;
    // promise() rejects where apply would wait forever: a bad input fails every registration that depends on it.
    await (component.url as any).promise().catch(() => undefined);
    await settled(registered, component);
    const mine = registered
        .slice(start)
        .filter(r => r.name.startsWith(name))
        .map(r => ({ ...r, inputs: plain(r.inputs), raw: r.inputs }));
    return { component, parents, resources: mine, byType: (t: string) => mine.filter(r => r.type === t) };
}

describe("DistributionRegistry under mocks", () => {
    test("creates every child of the default configuration, each parented to the component", async () => {
        const { component, parents, resources } = await build("registry");
        expect(resources.map(r => `${r.type} ${r.name}`).sort()).toEqual([
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
        const children = resources.filter(r => r.name !== "registry");
        expect(children).toHaveLength(24);
        expect(children.filter(r => parents.get(r.name) !== component).map(r => r.name)).toEqual([]);
    });

    test("outputs: url, hostname, namespace, service name, and the htpasswd as a secret", async () => {
        const { component } = await build("outputs", { hostname: "reg.example.com", port: 8443, namespace: "tools" });
        expect(await valueOf(component.url)).toBe("https://reg.example.com:8443");
        expect(await valueOf(component.hostname)).toBe("reg.example.com");
        expect(await valueOf(component.namespace)).toBe("tools");
        expect(await valueOf(component.serviceName)).toBe("outputs");
        expect(await valueOf(component.htpasswd)).toMatch(/^admin:\$2y\$05\$/);
        expect(await pulumi.isSecret(component.htpasswd)).toBe(true);
        expect(await valueOf(component.pushedImages)).toEqual(["reg.example.com:8443/nginx:latest"]);
    });

    test("no Command text or environment holds the password; it reaches the push on stdin only", async () => {
        const { byType } = await build("secrets");
        const commands = byType("command:local:Command");
        expect(commands).toHaveLength(4);
        expect(commands.map(c => c.name).sort()).toEqual([
            "secrets-docker-trust",
            "secrets-hosts-entry",
            "secrets-image-push",
            "secrets-tls-keys",
        ]);
        for (const c of commands) {
            for (const field of ["create", "update", "delete", "environment", "triggers", "interpreter"]) {
                expect(JSON.stringify(c.inputs[field] ?? "")).not.toContain("p@ss");
            }
        }
        const push = commands.find(c => c.name === "secrets-image-push")!;
        expect(push.inputs.stdin).toBe(password);
        expect(wasSecret(push.raw.stdin)).toBe(true);
        expect(commands.filter(c => c.inputs.stdin !== undefined).map(c => c.name)).toEqual(["secrets-image-push"]);
    });

    test("a username given as a secret (Terraform's sensitive) stays a secret in every resource; a plain one stays readable", async () => {
        const secretUser = await build("secretuser", { username: pulumi.secret("tf-user") });
        const holders = secretUser.resources.filter(r => JSON.stringify(r.inputs).includes("tf-user"));
        expect(holders.map(r => r.name).sort()).toEqual([
            "secretuser-catalog",
            "secretuser-image-push",
            "secretuser-secret",
            "secretuser-tags-nginx",
        ]);
        /** Whether every place the value appears in the raw inputs is inside a secret. */
        const hiddenEverywhere = (raw: any, value: string): boolean => {
            if (wasSecret(raw)) {
                return true;
            }
            if (raw === value) {
                return false;
            }
            return !raw || typeof raw !== "object" || Object.values(raw).every(v => hiddenEverywhere(v, value));
        };
        for (const r of holders) {
            expect(`${r.name}: ${hiddenEverywhere(r.raw, "tf-user") ? "secret" : "plain"}`).toBe(`${r.name}: secret`);
        }
        const plainUser = await build("plainuser", { username: "admin" });
        const push = plainUser.byType("command:local:Command").find(c => c.name === "plainuser-image-push")!;
        expect(wasSecret(push.raw.environment?.DR_USERNAME)).toBe(false);
    });

    test("every Command that changes the machine has a delete, and runs our script through node", async () => {
        const { byType } = await build("deletes");
        // The keys Command changes nothing on the machine: it prints keys into state.
        const changing = byType("command:local:Command").filter(c => c.name !== "deletes-tls-keys");
        expect(changing.map(c => c.name).sort()).toEqual([
            "deletes-docker-trust",
            "deletes-hosts-entry",
            "deletes-image-push",
        ]);
        for (const c of changing) {
            expect(c.inputs.delete).toMatch(/\.run\("remove"\);\n$/);
            expect(c.inputs.interpreter).toEqual(["node", "-e"]);
        }
    });

    test("the Secret holds the htpasswd hashed with the kept salt key and the kept HTTP secret; the pod template their checksum", async () => {
        const { byType, resources } = await build("checksum");
        // What the random provider keeps in state (the mocks' answer), as the program read it back.
        const kept = (name: string) => resources.find(r => r.name === name)!;
        expect(kept("checksum-http-secret").inputs).toMatchObject({ length: 48, special: false });
        expect(kept("checksum-bcrypt-salt-key").inputs).toMatchObject({ length: 32, special: false });
        expect(kept("checksum-pull-password").inputs).toMatchObject({ length: 32, special: false });
        const httpSecret = kept("checksum-http-secret").state.result as string;
        const saltKey = kept("checksum-bcrypt-salt-key").state.result as string;
        const pullPassword = kept("checksum-pull-password").state.result as string;
        const secret = byType("kubernetes:core/v1:Secret").find(r => r.name === "checksum-secret")!.inputs;
        expect(secret.stringData["http-secret"]).toBe(httpSecret);
        // The same salt key gives the same bcrypt lines: recomputed here, they must be the Secret's byte for byte.
        expect(secret.stringData.htpasswd).toBe(
            renderHtpasswd(
                [
                    { username: "admin", password },
                    { username: "checksum-pull", password: pullPassword },
                ],
                saltKey,
                5,
            ),
        );
        expect(secret.stringData.htpasswd).toMatch(/^admin:\$2y\$05\$.{53}\nchecksum-pull:\$2y\$05\$.{53}\n$/);
        const config = byType("kubernetes:core/v1:ConfigMap")[0].inputs.data["config.yml"];
        const deployment = byType("kubernetes:apps/v1:Deployment")[0].inputs;
        expect(deployment.spec.template.metadata.annotations["checksum/secret-and-config"]).toBe(
            podChecksum(config, secret.stringData.htpasswd, httpSecret),
        );
    });

    test("an image-pull Secret in each listed namespace, its data secret, its name an output", async () => {
        const { byType, component } = await build("pulls", {
            hostname: "reg.example.com",
            imagePullSecretNamespaces: ["apps", "examples"],
        });
        const secrets = byType("kubernetes:core/v1:Secret").filter(r => r.name.startsWith("pulls-pull-secret-"));
        expect(
            secrets.map(r => `${r.name} ${r.inputs.metadata.namespace}/${r.inputs.metadata.name} ${r.inputs.type}`),
        ).toEqual([
            "pulls-pull-secret-apps apps/pulls-pull kubernetes.io/dockerconfigjson",
            "pulls-pull-secret-examples examples/pulls-pull kubernetes.io/dockerconfigjson",
        ]);
        // The pull account, not the admin: the admin's password is in no namespace.
        const pullPassword = await valueOf(component.pullPassword);
        expect(pullPassword).toBe(registered.find(r => r.name === "pulls-pull-password")!.state.result);
        for (const s of secrets) {
            const auth = JSON.parse(s.inputs.stringData[".dockerconfigjson"]).auths["reg.example.com"];
            expect(auth).toEqual({
                username: "pulls-pull",
                password: pullPassword,
                auth: Buffer.from(`pulls-pull:${pullPassword}`).toString("base64"),
            });
            expect(JSON.stringify(s.inputs)).not.toContain(password);
        }
        expect(await valueOf(component.pullUsername)).toBe("pulls-pull");
        expect(await pulumi.isSecret(component.pullPassword)).toBe(true);
        expect(wasSecret(secrets[0].raw.stringData)).toBe(true);
        expect(wasSecret(secrets[0].raw.metadata)).toBe(false);
        expect(await valueOf(component.imagePullSecretName)).toBe("pulls-pull");
        const none = await build("nopulls");
        expect(await valueOf(none.component.imagePullSecretName)).toBe("");
    });

    test("namespace and emptyDir when asked; steps turned off are not created", async () => {
        const { byType, resources } = await build("options", {
            createNamespace: true,
            storage: { type: "emptyDir" },
            tls: { mode: "ingressDefault" },
            workstation: { hostsEntry: { enabled: false }, dockerTrust: { mode: "none" }, push: { enabled: false } },
        });
        expect(byType("kubernetes:core/v1:Namespace")).toHaveLength(1);
        expect(byType("kubernetes:core/v1:PersistentVolumeClaim")).toHaveLength(0);
        // An emptyDir is one pod's: no other pod could collect its garbage.
        expect(byType("kubernetes:batch/v1:CronJob")).toHaveLength(0);
        expect(byType("kubernetes:rbac.authorization.k8s.io/v1:Role")).toHaveLength(0);
        expect(byType("command:local:Command")).toHaveLength(0);
        expect(resources.filter(r => r.type.startsWith("pulumi-nodejs:dynamic"))).toHaveLength(0);
    });

    // --- S3 storage, replicas, cache and metrics (issue 17) ---
    test("on S3 with two replicas, Redis and metrics: a PodDisruptionBudget and a ServiceMonitor; keys only in the Secret, secret", async () => {
        const keys = { accessKey: "AKIAE2EKEY0123", secretKey: "s3-secret/Key+0123", redisPassword: "redis p@ss: 9" };
        const { resources, byType } = await build("scaled", {
            image: "registry:3.1.2",
            replicas: 2,
            storage: {
                type: "s3",
                s3: {
                    bucket: "images",
                    regionEndpoint: "http://10.96.0.20:8333",
                    accessKey: keys.accessKey,
                    secretKey: pulumi.secret(keys.secretKey),
                },
            },
            redis: { address: "10.96.0.30:6379", password: pulumi.output(keys.redisPassword) },
            metrics: { enabled: true, serviceMonitor: true },
        });
        expect(resources.map(r => `${r.type} ${r.name}`).sort()).toEqual([
            "command:local:Command scaled-docker-trust",
            "command:local:Command scaled-hosts-entry",
            "command:local:Command scaled-image-push",
            "command:local:Command scaled-tls-keys",
            "distribution-registry:index:DistributionRegistry scaled",
            "kubernetes:apps/v1:DaemonSet scaled-node-trust",
            "kubernetes:apps/v1:Deployment scaled-deployment",
            "kubernetes:batch/v1:CronJob scaled-gc",
            "kubernetes:core/v1:ConfigMap scaled-config",
            "kubernetes:core/v1:ConfigMap scaled-local-registry-hosting",
            "kubernetes:core/v1:ConfigMap scaled-node-trust-script",
            "kubernetes:core/v1:Secret scaled-secret",
            "kubernetes:core/v1:Secret scaled-tls",
            "kubernetes:core/v1:Service scaled-service",
            "kubernetes:core/v1:ServiceAccount scaled-gc",
            "kubernetes:monitoring.coreos.com/v1:ServiceMonitor scaled-service-monitor",
            "kubernetes:networking.k8s.io/v1:Ingress scaled-ingress",
            "kubernetes:policy/v1:PodDisruptionBudget scaled-pdb",
            "kubernetes:rbac.authorization.k8s.io/v1:Role scaled-gc",
            "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding scaled-gc",
            "pulumi-nodejs:dynamic/registry:CatalogCheck scaled-catalog",
            "pulumi-nodejs:dynamic/registry:TagsCheck scaled-tags-nginx",
            "pulumi:providers:pulumi-nodejs scaled-checks",
            "random:index/randomPassword:RandomPassword scaled-bcrypt-salt-key",
            "random:index/randomPassword:RandomPassword scaled-http-secret",
            "random:index/randomPassword:RandomPassword scaled-pull-password",
        ]);
        // Each value, quoted for the registry's YAML reading, in the Secret's stringData (a secret input) only.
        const secret = byType("kubernetes:core/v1:Secret").find(r => r.name === "scaled-secret")!;
        expect(wasSecret(secret.raw.stringData)).toBe(true);
        expect(secret.inputs.stringData).toMatchObject({
            "s3-access-key": JSON.stringify(keys.accessKey),
            "s3-secret-key": JSON.stringify(keys.secretKey),
            "redis-password": JSON.stringify(keys.redisPassword),
        });
        const holders = (value: string) =>
            resources.filter(r => JSON.stringify(r.inputs).includes(value)).map(r => r.name);
        expect(Object.values(keys).map(holders)).toEqual([["scaled-secret"], ["scaled-secret"], ["scaled-secret"]]);
        // The Deployment and the ConfigMap stay readable in state: no secret marker anywhere in them.
        for (const name of ["scaled-deployment", "scaled-config"]) {
            const raw = JSON.stringify(resources.find(r => r.name === name)!.raw);
            expect(`${name}: ${raw.includes(pulumi.runtime.specialSecretSig) ? "secret inside" : "readable"}`).toBe(
                `${name}: readable`,
            );
        }
        const monitor = byType("kubernetes:monitoring.coreos.com/v1:ServiceMonitor")[0].inputs;
        expect(monitor.spec.endpoints).toEqual([{ port: "metrics", path: "/metrics", interval: "30s" }]);
        expect(byType("kubernetes:policy/v1:PodDisruptionBudget")[0].inputs.spec.maxUnavailable).toBe(1);
    });

    test("replicas known only at up (an Output) get the PodDisruptionBudget; one replica gets none", async () => {
        const later = await build("later", {
            replicas: pulumi.output(2),
            storage: { type: "s3", s3: { bucket: "images" } },
            workstation: { hostsEntry: { enabled: false }, dockerTrust: { mode: "none" }, push: { enabled: false } },
        });
        expect(later.byType("kubernetes:policy/v1:PodDisruptionBudget").map(r => r.name)).toEqual(["later-pdb"]);
        const one = await build("one", {
            storage: { type: "s3", s3: { bucket: "images" } },
            workstation: { hostsEntry: { enabled: false }, dockerTrust: { mode: "none" }, push: { enabled: false } },
        });
        expect(one.byType("kubernetes:policy/v1:PodDisruptionBudget")).toEqual([]);
        expect(one.byType("kubernetes:core/v1:PersistentVolumeClaim")).toEqual([]);
    });

    test.each([
        ["storage", { storage: { type: "s3" } }, /^storage\.s3\.bucket: is needed for storage type "s3"/],
        [
            "S3 key",
            { storage: { type: "s3", s3: { bucket: "images", accessKey: "", secretKey: "x" } } },
            /^storage\.s3\.accessKey: is empty/,
        ],
        ["username", { username: "ad:min" }, /^username: "ad:min" contains ':'/],
        ["address", { address: "registry.test" }, /^address: "registry.test" is not an IPv4 or IPv6 address/],
        ["replicas", { replicas: 3 }, /^replicas: 3 replicas need storage/],
        [
            "node trust certs directory",
            { nodeTrust: { certsDir: "certs.d" } },
            /^nodeTrust\.certsDir: "certs\.d" is not a path on the nodes \(absolute, normalized, not "\/" itself\)\. Give one such as/,
        ],
    ])(
        "a bad %s creates nothing at all and says what to fix",
        (_name, bad, message) => {
            const run = childProcess.spawnSync(
                "npx",
                [
                    "ts-node",
                    "--transpile-only",
                    path.join(__dirname, "fixtures", "constructWithBadInput.ts"),
                    JSON.stringify({ address: "192.0.2.10", username: "admin", password: "p", ...bad }),
                ],
                { encoding: "utf8" },
            );
            const { types, errors, runErrors } = JSON.parse(run.stdout);
            // Checked before the component registers itself: nothing at all, and one sentence without wrapper prefixes.
            expect(types).toEqual([]);
            expect(errors).toHaveLength(1);
            expect(errors[0]).toMatch(message);
            expect(runErrors).toEqual([true]);
        },
        30000,
    );
});
