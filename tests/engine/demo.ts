// `npm run demo` (as root, on Linux): this program, with the default config, on the bundled single-node cluster;
// `npm run demo:down` undoes it all. See README.md ("See it work").
import * as childProcess from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as https from "https";
import * as path from "path";
import { makePulumiProject } from "./pulumiProject";
import { imageReference, imagesDir, machineState, run, startRealNodeCluster, toolsBin } from "./realNode";

const here = __dirname;
const demoDir = path.resolve(process.env.DR_DEMO_DIR ?? "/var/tmp/distribution-registry-demo");
const stack = "demo";
const hostname = "registry.test";
// Traefik's first loopback address (start-cluster.sh): what the hosts line points registry.test at.
const ingressAddress = "127.0.0.2";
const username = "demo";
const file = (name: string) => path.join(demoDir, name);

let phase = 0;
/** Runs one phase with a progress line, and its time when it is done. */
function step<T>(what: string, work: () => T): T {
    phase++;
    process.stdout.write(`[demo ${phase}] ${what} ...\n`);
    const started = Date.now();
    const result = work();
    process.stdout.write(`[demo ${phase}] ${what}: done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    return result;
}

async function stepAsync<T>(what: string, work: () => Promise<T>): Promise<T> {
    phase++;
    process.stdout.write(`[demo ${phase}] ${what} ...\n`);
    const started = Date.now();
    const result = await work();
    process.stdout.write(`[demo ${phase}] ${what}: done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    return result;
}

/** What the demo changes on this machine, beyond what the cluster's own check covers: the files the program edits. */
function machineNow(): Record<string, string> {
    const tree = (dir: string): string[] =>
        !fs.existsSync(dir)
            ? ["(absent)"]
            : fs
                  .readdirSync(dir, { withFileTypes: true })
                  .flatMap(e =>
                      e.isDirectory()
                          ? [`${e.name}/`, ...tree(path.join(dir, e.name)).map(x => `${e.name}/${x}`)]
                          : [
                                `${e.name} ${crypto
                                    .createHash("sha256")
                                    .update(fs.readFileSync(path.join(dir, e.name)))
                                    .digest("hex")}`,
                            ],
                  )
                  .sort();
    return {
        ...machineState(),
        "/etc/hosts": crypto.createHash("sha256").update(fs.readFileSync("/etc/hosts")).digest("hex"),
        "/etc/docker": tree("/etc/docker").join("\n"),
    };
}

function commandOnPath(name: string): string | undefined {
    const found = childProcess.spawnSync("sh", ["-c", 'command -v "$1"', "sh", name], { encoding: "utf8" });
    return found.status === 0 ? found.stdout.trim() : undefined;
}

/** Reads a secret the demo keeps (0600, in its own 0700 directory). */
function secret(name: string): string {
    return fs.readFileSync(file(name), "utf8");
}

function project(kubeconfig: string) {
    // A pulumi of the user's, when there is one, comes first; the locally built tools fill in what it lacks.
    const userPulumi = commandOnPath("pulumi");
    const pathWithTools = userPulumi ? `${process.env.PATH}:${toolsBin}` : `${toolsBin}:${process.env.PATH}`;
    return { kubeconfig, passphrase: secret("passphrase"), pathWithTools };
}

/** The registry through its URL, as a client of this machine reaches it (the hosts line, the CA): 401 means it answers. */
function reachUrl(url: string, ca: string): Promise<number> {
    return new Promise((resolve, reject) => {
        const req = https.get(`${url}/v2/`, { ca, agent: false }, res => {
            res.resume();
            resolve(res.statusCode ?? 0);
        });
        req.on("error", reject);
    });
}

async function up(): Promise<void> {
    if (process.platform !== "linux" || process.getuid?.() !== 0) {
        throw new Error(
            "npm run demo runs the bundled cluster (containerd, kubelet, iptables): run it on Linux as root",
        );
    }
    if (fs.existsSync(file("demo.json"))) {
        throw new Error(`a demo already runs (${demoDir}); run \`npm run demo:down\` first`);
    }
    fs.mkdirSync(demoDir, { recursive: true, mode: 0o700 });
    fs.chmodSync(demoDir, 0o700);
    step("Debian packages and the tools (built from Go modules the first time: long)", () => {
        run(path.join(here, "install-packages.sh"), [], { stdio: "inherit" });
        run(path.join(here, "build-tools.sh"), [], { stdio: "inherit" });
        run(path.join(here, "images", "build-images.sh"), [], { stdio: "inherit" });
    });
    for (const name of ["passphrase", "password"]) {
        fs.writeFileSync(file(name), crypto.randomBytes(18).toString("base64url"), { mode: 0o600 });
    }
    fs.writeFileSync(file("machine-before.json"), JSON.stringify(machineNow(), null, 2));
    fs.writeFileSync(file("demo.json"), JSON.stringify({ started: new Date().toISOString(), stack }));
    const cluster = step("the single-node cluster (control plane, kubelet, containerd, Traefik, local-path)", () =>
        startRealNodeCluster(file("cluster")),
    );
    const p = project(cluster.kubeconfig);
    const pulumiProject = makePulumiProject({
        work: demoDir,
        kubeconfig: cluster.kubeconfig,
        passphrase: p.passphrase,
        verbose: false,
        env: { PATH: `${path.join(demoDir, "bin")}:${p.pathWithTools}` },
    });
    const cli = (args: string[], input?: string) =>
        run("pulumi", [...args, "--stack", stack], { cwd: pulumiProject.dir, env: pulumiProject.env, input });
    const hello = path.join(imagesDir, "e2e-hello.tar");
    await stepAsync("pulumi up of this program, default config (generated TLS), a local image pushed", async () => {
        run("pulumi", ["stack", "init", stack, "--secrets-provider", "passphrase", "--non-interactive"], {
            cwd: pulumiProject.dir,
            env: pulumiProject.env,
        });
        // The default config, but for what this machine differs in: the node pulls nothing from the internet, so the
        // registry image is the one it has and the pushed image is a local archive; the address is Traefik's; the
        // node is not k3s.
        const config: Record<string, string> = {
            address: ingressAddress,
            username,
            image: imageReference("registry-3"),
            createNamespace: "true",
            pushTool: "skopeo",
            verifyDeadlineSeconds: "180",
            // containerd's config_path on the bundled node (k3s's is the default), where node trust writes hosts.toml.
            nodeTrustCertsDir: cluster.nodeCertsDir,
        };
        for (const [key, value] of Object.entries(config)) {
            cli(["config", "set", key, value]);
        }
        cli(["config", "set", "--path", "pushImages[0]", `docker-archive:${hello}=hello:v1`]);
        // The password reaches the CLI on stdin: never on a command line.
        cli(["config", "set", "--secret", "password"], secret("password"));
        const result = await pulumiProject.cli("demo-up", [
            "up",
            "--yes",
            "--skip-preview",
            "--non-interactive",
            "--stack",
            stack,
        ]);
        if (result.code !== 0) {
            throw new Error(
                `pulumi up failed; its output: ${path.join(demoDir, "logs", "demo-up.log")}\n${result.output.split("\n").slice(-30).join("\n")}`,
            );
        }
    });
    const outputs = JSON.parse(cli(["stack", "output", "--json"]));
    const certs = file("certs");
    fs.mkdirSync(certs, { recursive: true });
    fs.writeFileSync(path.join(certs, "ca.crt"), outputs.caCertificate);
    const status = await stepAsync(`reaching ${outputs.url} from this machine`, () =>
        reachUrl(outputs.url, outputs.caCertificate),
    );
    if (status !== 401) {
        throw new Error(`${outputs.url}/v2/ answered ${status}, not 401 (authentication required)`);
    }
    printDone(outputs, hello);
}

function printDone(outputs: Record<string, unknown>, hello: string): void {
    const auth = `--authfile ${file("auth.json")}`;
    const certs = file("certs");
    const lines = [
        "",
        `The registry is running at ${outputs.url} (answering 401 to anonymous requests, as it should).`,
        "",
        "Outputs (pulumi stack output):",
        ...Object.entries(outputs)
            .filter(([k]) => k !== "caCertificate" && k !== "htpasswd")
            .map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`),
        `  caCertificate: (PEM, saved as ${path.join(file("certs"), "ca.crt")})`,
        "",
        `Log in, push and pull from this machine (user ${username}, password in ${file("password")}):`,
        `  skopeo login ${auth} --cert-dir ${certs} --username ${username} --password-stdin ${hostname} < ${file("password")}`,
        `  skopeo copy ${auth} --dest-cert-dir ${certs} docker-archive:${hello} docker://${hostname}/hello:v2`,
        `  skopeo inspect ${auth} --cert-dir ${certs} docker://${hostname}/hello:v2`,
        `  skopeo copy ${auth} --src-cert-dir ${certs} docker://${hostname}/hello:v1 oci:${file("pulled")}:hello`,
    ];
    if (childProcess.spawnSync("docker", ["info"], { stdio: "ignore" }).status === 0) {
        lines.push(
            "With Docker (it trusts the CA through /etc/docker/certs.d, written by the stack):",
            `  docker login --username ${username} --password-stdin ${hostname} < ${file("password")}`,
            `  docker pull ${hostname}/hello:v1`,
        );
    }
    lines.push(
        "",
        "It stays up. `npm run demo:down` destroys the stack, stops the cluster and puts the machine back.",
        "",
    );
    process.stdout.write(lines.join("\n"));
}

async function down(): Promise<void> {
    if (!fs.existsSync(file("demo.json"))) {
        throw new Error(`no demo runs here (${demoDir} has no demo.json); nothing to do`);
    }
    const kubeconfig = path.join(file("cluster"), "kubeconfig");
    const p = project(kubeconfig);
    const env: NodeJS.ProcessEnv = {
        ...process.env,
        PATH: `${path.join(demoDir, "bin")}:${p.pathWithTools}`,
        HOME: file("home"),
        PULUMI_HOME: file("pulumi-home"),
        PULUMI_BACKEND_URL: `file://${file("state")}`,
        PULUMI_CONFIG_PASSPHRASE: p.passphrase,
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        KUBECONFIG: kubeconfig,
    };
    const projectDir = file("project");
    const stackExists =
        fs.existsSync(projectDir) &&
        childProcess.spawnSync("pulumi", ["stack", "select", stack], { cwd: projectDir, env }).status === 0;
    if (stackExists) {
        step("pulumi destroy (the registry, the hosts line, Docker's trust)", () => {
            run("pulumi", ["destroy", "--yes", "--skip-preview", "--non-interactive", "--stack", stack], {
                cwd: projectDir,
                env,
                stdio: "inherit",
            });
            run("pulumi", ["stack", "rm", "--yes", "--stack", stack], { cwd: projectDir, env });
        });
    }
    step("stopping the cluster", () =>
        run(path.join(here, "start-cluster.sh"), ["stop", file("cluster")], { stdio: "inherit" }),
    );
    const before = JSON.parse(fs.readFileSync(file("machine-before.json"), "utf8")) as Record<string, string>;
    const after = machineNow();
    const changed = Object.keys(before).filter(k => before[k] !== after[k]);
    fs.rmSync(demoDir, { recursive: true, force: true });
    if (changed.length) {
        throw new Error(`the machine is not as it was before the demo: ${changed.join(", ")} differ`);
    }
    process.stdout.write(
        "The machine is as it was before the demo: rules, routes, links, sysctls, mounts, /etc/hosts, /etc/docker.\n",
    );
}

const action = process.argv[2];
(action === "up" ? up() : action === "down" ? down() : Promise.reject(new Error("usage: demo.ts up|down"))).catch(
    (e: unknown) => {
        process.stderr.write(`demo: ${(e as Error).message}\n`);
        process.exit(1);
    },
);
