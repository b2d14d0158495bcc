import * as childProcess from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { renderHtpasswd } from "../../components/htpasswd";
import { podChecksum } from "../../components/templates/registryPod";
import { settingsFromArgs } from "../../components/settings";
import { renderConfigMap } from "../../components/templates/configMap";
import { renderDeployment } from "../../components/templates/deployment";
import { renderSecret } from "../../components/templates/secret";
import { parseStateFile, outputString } from "../../components/program/terraformOutputs";
import { RunningRegistry, registryBinary, registryV3Binary, startRegistry } from "../support/registryProcess";
import { itUnless, needsCommands, whyNoRegistry } from "../support/requirements";

const whyNoHtpasswd = needsCommands("htpasswd");

/**
 * Both major versions: Debian packages 2.8; 3.x is built by tests/support/build-registry-v3.sh. Each runs in the pod's
 * layout (registryProcess.ts), reading the rendered config, htpasswd and data at the paths the Deployment mounts.
 */
const registries = [
    {
        label: "registry 2.8 (Debian's docker-registry)",
        image: "registry:2.8.3",
        binary: registryBinary,
        why: whyNoRegistry(2),
    },
    {
        label: "registry 3.1 (built from Go modules)",
        image: "registry:3.1.2",
        binary: registryV3Binary,
        why: whyNoRegistry(3),
    },
];

/** Terraform's view of the machine, as a state file would hold it. */
const terraformState = JSON.stringify({
    version: 4,
    outputs: {
        vm_public_ip: { value: "192.0.2.10", type: "string" },
        container_registry_username: { value: "registry-admin", type: "string" },
        container_registry_password: { value: "Tf p@ss:w\"ord'$(x)", type: "string", sensitive: true },
    },
});

function get(url: string, auth?: string): Promise<{ status: number; headers: http.IncomingHttpHeaders }> {
    return new Promise((resolve, reject) => {
        http.get(url, { auth }, res => {
            res.resume();
            resolve({ status: res.statusCode ?? 0, headers: res.headers });
        }).on("error", reject);
    });
}

describe.each(registries)(
    "the rendered Secret, config and Deployment environment run a real $label",
    ({ image, binary, why }) => {
        const withRegistry = itUnless(why);
        const outputs = parseStateFile(terraformState, "state");
        const username = outputString(outputs, "container_registry_username", "state", "k");
        const password = outputString(outputs, "container_registry_password", "state", "k");
        const settings = settingsFromArgs("registry", { image });
        const secret = renderSecret(
            settings,
            renderHtpasswd(
                [
                    { username, password },
                    { username: "ci", password: "ci-pass" },
                ],
                "kept-salt-key",
                settings.bcryptCost,
            ),
            "kept-http-secret",
            { username: "ci", password: "ci-pass" },
        ) as any;
        const config = (renderConfigMap(settings) as any).data["config.yml"];
        const deployment = renderDeployment(
            settings,
            podChecksum(config, secret.stringData.htpasswd, "kept-http-secret"),
        ) as any;
        let registry: RunningRegistry;

        beforeAll(async () => {
            if (why) {
                return;
            }
            // The pod's environment: literal values as rendered, secretKeyRefs resolved from the rendered Secret, as the kubelet does.
            const env: Record<string, string> = {};
            for (const e of deployment.spec.template.spec.containers[0].env) {
                env[e.name] = e.value ?? secret.stringData[e.valueFrom.secretKeyRef.key];
            }
            // Mounted where the rendered Deployment mounts them, read at the path the image's command gives.
            registry = await startRegistry({ config, htpasswd: secret.stringData.htpasswd, env, binary, deployment });
        });
        afterAll(async () => registry?.stop());

        itUnless(whyNoHtpasswd)("Apache's htpasswd verifies every rendered entry and refuses a wrong password", () => {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dr-htpasswd-"));
            const file = path.join(dir, "htpasswd");
            fs.writeFileSync(file, secret.stringData.htpasswd);
            // -i reads the password from stdin: the test keeps its own rule of no password on a command line.
            const verify = (user: string, pass: string) =>
                childProcess.spawnSync("htpasswd", ["-v", "-i", file, user], { input: pass, encoding: "utf8" });
            expect(verify(username, password).status).toBe(0);
            expect(verify("ci", "ci-pass").status).toBe(0);
            expect(verify(username, "wrong").status).not.toBe(0);
            fs.rmSync(dir, { recursive: true });
        });

        withRegistry("GET / answers 200 without credentials: the probes' path", async () => {
            expect((await get(`${registry.url}/`)).status).toBe(200);
        });

        withRegistry("the Terraform password logs in: 200 on /v2/", async () => {
            expect((await get(`${registry.url}/v2/`, `${username}:${password}`)).status).toBe(200);
            expect((await get(`${registry.url}/v2/`, "ci:ci-pass")).status).toBe(200);
        });

        withRegistry("a wrong password, or none, gets 401 with the Basic challenge for the hostname", async () => {
            const wrong = await get(`${registry.url}/v2/`, `${username}:not-the-password`);
            expect(wrong.status).toBe(401);
            const none = await get(`${registry.url}/v2/`);
            expect(none.status).toBe(401);
            expect(none.headers["www-authenticate"]).toBe('Basic realm="registry.test"');
        });

        withRegistry(
            "the registry took the config: deletes are enabled (DELETE of a missing digest is 404, not 405)",
            async () => {
                const status = await new Promise<number>((resolve, reject) => {
                    const req = http.request(
                        `${registry.url}/v2/nothing/manifests/sha256:${"0".repeat(64)}`,
                        { method: "DELETE", auth: `${username}:${password}` },
                        res => {
                            res.resume();
                            resolve(res.statusCode ?? 0);
                        },
                    );
                    req.on("error", reject);
                    req.end();
                });
                expect(status).toBe(404);
            },
        );
    },
);
