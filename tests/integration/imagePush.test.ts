import * as childProcess from "child_process";
import * as fs from "fs";
import * as https from "https";
import * as os from "os";
import * as path from "path";
import { renderHtpasswd } from "../../components/htpasswd";
import { renderRegistryConfig } from "../../components/registryConfig";
import { settingsFromArgs } from "../../components/settings";
import { bundleScript, scriptsDirectory } from "../../components/workstation/scriptBundle";
import { runCommandScript, runCommandScriptAsync } from "../support/commandRunner";
import { makeOciImage } from "../support/ociImage";
import { RunningRegistry, startRegistry } from "../support/registryProcess";
import { firstReason, itUnless, needsCommands, whyNoRegistry } from "../support/requirements";
import { SelfSignedCertificate, makeSelfSignedCertificate } from "../support/tls";

const username = "ci user";
const password = `p@ss w"o'rd $(touch /tmp/dr-pwned) \`x\` ;|&`;
const whyNoRun = firstReason(needsCommands("skopeo", "openssl"), whyNoRegistry(2));
const withRegistry = itUnless(whyNoRun);
// strace records every program the push starts, however short-lived, with its arguments and environment.
const withTrace = itUnless(whyNoRun ?? needsCommands("strace"));

function tagsOf(registry: RunningRegistry, repository: string, ca: string): Promise<{ status: number; body: any }> {
    return new Promise((resolve, reject) => {
        https
            .get(
                `${registry.url}/v2/${repository}/tags/list`,
                {
                    ca,
                    auth: `${username}:${password}`,
                },
                res => {
                    let body = "";
                    res.on("data", d => {
                        body += d;
                    });
                    res.on("end", () => resolve({ status: res.statusCode ?? 0, body: body ? JSON.parse(body) : null }));
                },
            )
            .on("error", reject);
    });
}

/** The digest the registry serves for a tag, as a client asking for a Docker v2 or OCI manifest reads it. */
function manifestDigest(
    registry: RunningRegistry,
    repository: string,
    tag: string,
    ca: string,
): Promise<string | undefined> {
    return new Promise((resolve, reject) => {
        https
            .request(
                `${registry.url}/v2/${repository}/manifests/${tag}`,
                {
                    method: "HEAD",
                    ca,
                    auth: `${username}:${password}`,
                    headers: {
                        Accept: "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json",
                    },
                },
                res => {
                    res.resume();
                    resolve(res.headers["docker-content-digest"] as string | undefined);
                },
            )
            .on("error", reject)
            .end();
    });
}

/**
 * Every execve that strace recorded, the failed ones too (the lookups along PATH): the program, then its argv and
 * environment as strace prints them.
 */
function execs(traceFile: string): string[] {
    return fs
        .readFileSync(traceFile, "utf8")
        .split("\n")
        .filter(line => /^\d+ +execve\(/.test(line));
}

describe("image push script with skopeo against a real TLS registry with htpasswd", () => {
    let dir: string;
    let tls: SelfSignedCertificate;
    let registry: RunningRegistry;
    let image: ReturnType<typeof makeOciImage>;
    const env = (extra: Record<string, string> = {}) => ({
        DR_PUSH_TOOL: "skopeo",
        DR_REGISTRY: `127.0.0.1:${registry.port}`,
        DR_USERNAME: username,
        DR_IMAGES: JSON.stringify([
            { source: image.source, repository: "team/hello", tag: "v1", platform: "linux/amd64" },
        ]),
        DR_TLS_MODE: "ca",
        DR_CA_CERTIFICATE: tls.certPem,
        ...extra,
    });

    beforeAll(async () => {
        if (whyNoRun) {
            return;
        }
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "dr-push-"));
        tls = makeSelfSignedCertificate(path.join(dir, "tls"), "registry.test");
        const settings = settingsFromArgs("registry", {});
        registry = await startRegistry({
            config: renderRegistryConfig(settings),
            htpasswd: renderHtpasswd([{ username, password }], "salt-key", settings.bcryptCost),
            tls,
        });
        image = makeOciImage(path.join(dir, "image"), "v1");
    });
    afterAll(async () => {
        await registry?.stop();
        if (dir) {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    withTrace(
        "pushes through the Command's script, the tag is then served, and no program it starts has the password in its arguments or environment",
        async () => {
            const traceFile = path.join(dir, "push.trace");
            const bundle = bundleScript(path.join(scriptsDirectory, "pushImages.js"), "push");
            // -f follows every child, -v prints whole environments, -s keeps whole strings.
            const child = childProcess.spawn(
                "strace",
                ["-f", "-qq", "-v", "-s", "1000000", "-e", "trace=execve", "-o", traceFile, "node", "-e", bundle],
                { env: { PATH: process.env.PATH!, ...env() } },
            );
            let stdout = "";
            let stderr = "";
            child.stdout.on("data", d => {
                stdout += d;
            });
            child.stderr.on("data", d => {
                stderr += d;
            });
            child.stdin.end(password);
            const status = await new Promise(r => child.on("close", r));
            expect(stderr).not.toContain("p@ss");
            expect(status).toBe(0);
            const result = JSON.parse(stdout);
            expect(result).toEqual({
                tool: "skopeo",
                registry: `127.0.0.1:${registry.port}`,
                pushed: [`127.0.0.1:${registry.port}/team/hello:v1`],
                digests: { "team/hello:v1": expect.stringMatching(/^sha256:[0-9a-f]{64}$/) },
            });
            const served = await manifestDigest(registry, "team/hello", "v1", tls.certPem);
            expect(result.digests["team/hello:v1"]).toBe(served);
            expect(stdout).not.toContain("p@ss");
            // The trace saw the push: node, then skopeo's login (password on stdin) and copy.
            const programs = execs(traceFile);
            const started = programs
                .filter(line => line.endsWith(") = 0"))
                .map(line => / execve\("([^"]+)", \["[^"]*"(?:, "(\w+)")?/.exec(line)!)
                .map(([, program, first]) => `${path.basename(program)} ${first ?? ""}`.trim());
            expect(started).toEqual(["node", "skopeo login", "skopeo copy"]);
            expect(programs.filter(line => line.includes("p@ss w"))).toEqual([]);
            expect(await tagsOf(registry, "team/hello", tls.certPem)).toEqual({
                status: 200,
                body: { name: "team/hello", tags: ["v1"] },
            });
            expect(fs.existsSync("/tmp/dr-pwned")).toBe(false);
            expect(fs.readdirSync(os.tmpdir()).filter(f => f.startsWith("distribution-registry-auth-"))).toEqual([]);
        },
    );

    withRegistry(
        "insecure mode pushes without trusting the certificate: the registry then serves the digest the push reported",
        async () => {
            const run = runCommandScript(
                "pushImages.js",
                "push",
                env({
                    DR_TLS_MODE: "insecure",
                    DR_CA_CERTIFICATE: "",
                    DR_IMAGES: JSON.stringify([
                        { source: image.source, repository: "insecure", tag: "v1", platform: "linux/amd64" },
                    ]),
                }),
                password,
            );
            expect(run.stderr).not.toContain("p@ss");
            expect(run.status).toBe(0);
            const reported = JSON.parse(run.stdout).digests["insecure:v1"];
            expect(reported).toMatch(/^sha256:[0-9a-f]{64}$/);
            expect(await manifestDigest(registry, "insecure", "v1", tls.certPem)).toBe(reported);
        },
    );

    withRegistry(
        "a password the registry takes only seconds later (a pod of the previous password still stopping) is tried again until it is taken",
        async () => {
            const rotated = `${password} rotated`;
            const before = fs.readFileSync(registry.htpasswdFile!, "utf8");
            const pushing = runCommandScriptAsync(
                "pushImages.js",
                "push",
                env({
                    DR_IMAGES: JSON.stringify([
                        { source: image.source, repository: "rotated", tag: "v1", platform: "linux/amd64" },
                    ]),
                }),
                rotated,
            );
            // The new password reaches the registry 3 s later (the registry reads its htpasswd again when it changes).
            await new Promise(r => setTimeout(r, 3000));
            fs.writeFileSync(registry.htpasswdFile!, renderHtpasswd([{ username, password: rotated }], "salt-key", 5));
            const run = await pushing;
            fs.writeFileSync(registry.htpasswdFile!, before);
            expect(run.stderr).toContain(
                "skopeo was refused, cut off or not routed; the registry may be starting or rolling: trying again in 0.25 s",
            );
            expect(run.status).toBe(0);
            expect(Object.keys(run.result.digests)).toEqual(["rotated:v1"]);
        },
        60000,
    );

    withRegistry("an untrusted certificate, or a wrong password, fails clearly and leaves no auth file", async () => {
        const untrusted = runCommandScript(
            "pushImages.js",
            "push",
            env({ DR_TLS_MODE: "system", DR_CA_CERTIFICATE: "" }),
            password,
        );
        expect(untrusted.status).toBe(1);
        expect(untrusted.stderr).toMatch(/x509|certificate/);
        expect(untrusted.stderr).toMatch(/image push: `skopeo login/);
        // Another CA than the one that signed the registry's certificate: refused, not skipped.
        const otherCa = childProcess.execFileSync(
            "openssl",
            [
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "/dev/null",
                "-subj",
                "/CN=another CA",
                "-days",
                "1",
            ],
            { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] },
        );
        const wrongCa = runCommandScript("pushImages.js", "push", env({ DR_CA_CERTIFICATE: otherCa }), password);
        expect(wrongCa.status).toBe(1);
        expect(wrongCa.stderr).toMatch(/x509: certificate signed by unknown authority|certificate/);
        const noCa = runCommandScript("pushImages.js", "push", env({ DR_CA_CERTIFICATE: "" }), password);
        expect(noCa.stderr).toContain('DR_TLS_MODE "ca" needs DR_CA_CERTIFICATE');
        const refused = runCommandScript("pushImages.js", "push", env(), "wrong password");
        expect(refused.status).toBe(1);
        expect(refused.stderr).toMatch(/unauthorized|401|invalid username\/password/i);
        // Tried again while a start or a rollout could explain it (soon, then 2 s apart), then reported.
        expect(refused.stderr.match(/trying again in [\d.]+ s/g)).toEqual([
            "trying again in 0.25 s",
            "trying again in 0.5 s",
            "trying again in 1 s",
            "trying again in 2 s",
            "trying again in 2 s",
            "trying again in 2 s",
        ]);
        expect(fs.readdirSync(os.tmpdir()).filter(f => f.startsWith("distribution-registry-auth-"))).toEqual([]);
    });
});

describe("image push script with docker (a recording stand-in: this machine has the client but no engine)", () => {
    let dir: string;
    let log: string;
    const env = (failOn = "") => {
        const bin = path.join(dir, "bin");
        fs.mkdirSync(bin, { recursive: true });
        // Records each call's argv and stdin; fails the call whose first argument is failOn.
        fs.writeFileSync(
            path.join(bin, "docker"),
            `#!/bin/sh
printf 'ARGS:%s\\n' "$*" >> "${log}"
printf 'STDIN:%s\\n' "$(cat)" >> "${log}"
[ "$1" = "${failOn}" ] && exit 3
exit 0
`,
            { mode: 0o755 },
        );
        return {
            PATH: `${bin}:${process.env.PATH}`,
            DR_PUSH_TOOL: "docker",
            DR_REGISTRY: "registry.test",
            DR_USERNAME: "admin",
            DR_IMAGES: JSON.stringify([
                { source: "nginx", repository: "nginx", tag: "latest", platform: "linux/amd64" },
            ]),
            DR_TLS_MODE: "insecure",
        };
    };
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "dr-docker-push-"));
        log = path.join(dir, "calls");
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    test("pull, tag, login with the password on stdin only, push; delete logs out and removes the tag", () => {
        const run = runCommandScript("pushImages.js", "push", env(), password);
        expect(run.status).toBe(0);
        const calls = fs.readFileSync(log, "utf8");
        expect(calls.split("\n").filter(l => l.startsWith("ARGS:"))).toEqual([
            "ARGS:pull --platform linux/amd64 nginx",
            "ARGS:tag nginx registry.test/nginx:latest",
            "ARGS:login --username admin --password-stdin registry.test",
            "ARGS:push registry.test/nginx:latest",
            "ARGS:inspect --format {{json .RepoDigests}} registry.test/nginx:latest",
        ]);
        expect(JSON.parse(run.stdout).digests).toEqual({ "nginx:latest": "" });
        expect(calls).toContain(`STDIN:${password}`);
        expect(calls.split("\n").filter(l => l.includes("p@ss"))).toEqual([`STDIN:${password}`]);
        fs.writeFileSync(log, "");
        expect(runCommandScript("pushImages.js", "remove", env()).status).toBe(0);
        expect(
            fs
                .readFileSync(log, "utf8")
                .split("\n")
                .filter(l => l.startsWith("ARGS:")),
        ).toEqual(["ARGS:rmi registry.test/nginx:latest", "ARGS:logout registry.test"]);
    });

    test("a failed push undoes the tag and the login: nothing half done", () => {
        const run = runCommandScript("pushImages.js", "push", env("push"), password);
        expect(run.status).toBe(1);
        expect(run.stderr).toMatch(/image push: `docker push .*` failed \(exit 3\)/);
        const calls = fs
            .readFileSync(log, "utf8")
            .split("\n")
            .filter(l => l.startsWith("ARGS:"));
        expect(calls.slice(-2)).toEqual(["ARGS:rmi registry.test/nginx:latest", "ARGS:logout registry.test"]);
    });
});
