import * as fs from "fs";
import * as path from "path";
import { verifyCatalog } from "../../components/verification/registryChecks";
import { itWhen } from "../support/requirements";
import { imageReference, imagesDir, machineState, readyPod, run, waitFor, whyNotRunnable } from "./realNode";
import {
    appsNamespace,
    daemonJsonBefore,
    dockerdScript,
    hostname,
    ingressAddress,
    otherIngressAddress,
    password,
    registryPods,
    removeWork,
    startTestbed,
    Testbed,
    treeState,
    username,
} from "./testbed";

/**
 * The program on the real Pulumi engine and a real node: `pulumi up` deploys the registry into a cluster whose
 * kubelet runs it (containerd, runc, CNI), Traefik serves it over TLS, Debian's Docker engine (or skopeo) pushes
 * through Traefik, the verification reads it back through Traefik, and a pod in another namespace pulls and runs
 * what was pushed, the node resolving and trusting the registry through node trust alone (the test never edits the
 * node, and destroy leaves its files as they were). It runs twice, each from an empty stack to `destroy`: the seed's setup (Traefik's default
 * certificate, Docker's insecure-registries, Distribution 2.8, docker push), then the default (a generated
 * certificate trusted through its CA, Distribution 3.x, skopeo then docker push). Figures (timings) are printed
 * and kept in <work>/logs/figures.json; nothing asserts them. The push benchmark is bench/pushThroughTraefik.ts.
 */
const why = whyNotRunnable();
const e2e = itWhen(why === undefined, why ?? "");

const figures: Record<string, number | string> = {};
let bed: Testbed;

beforeAll(async () => {
    if (!why) {
        bed = await startTestbed("e2e");
    }
}, 900000);

afterAll(async () => {
    if (!bed) {
        return;
    }
    fs.writeFileSync(path.join(bed.work, "logs", "figures.json"), JSON.stringify(figures, null, 2));
    console.log(`figures:\n${JSON.stringify(figures, null, 2)}`);
    await bed.stop();
    removeWork(bed.work);
}, 300000);

/** The push Command's result (its stdout in state, never secret): what the push itself reported. */
function pushResult(stack: string): { tool: string; pushed: string[]; digests: Record<string, string> } {
    const state = JSON.parse(bed.project.exportState(stack));
    const push = state.deployment.resources.find((r: any) => r.urn.endsWith("::registry-image-push"));
    return JSON.parse(push.outputs.stdout);
}

/** Where each pattern first matches in `text` (-1 when it does not): for steps that must come in an order. */
function positions(text: string, patterns: RegExp[]): number[] {
    return patterns.map(p => text.search(p));
}

const podsPath = `/api/v1/namespaces/${appsNamespace}/pods`;

/**
 * A pod in the apps namespace that runs the pushed image (busybox): it also asks the registry's Service, through
 * kube-proxy's rules, and prints the status line.
 */
function appPod(name: string, pullSecret: boolean, clusterIP: string, image = `${hostname}/hello:v1`) {
    return {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name, namespace: appsNamespace },
        spec: {
            ...(pullSecret ? { imagePullSecrets: [{ name: "registry-pull" }] } : {}),
            terminationGracePeriodSeconds: 0,
            containers: [
                {
                    name: "hello",
                    image,
                    imagePullPolicy: "Always",
                    command: [
                        "/bin/busybox",
                        "sh",
                        "-c",
                        `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 5 ${clusterIP} 5000 | head -n 1; exec sleep 3600`,
                    ],
                },
            ],
        },
    };
}

/** Waits for an app pod to run, and returns it. */
async function runningPod(name: string, seconds = 120): Promise<any> {
    return waitFor(`the pod ${name} to run`, seconds, async () => {
        const p = (await bed.cluster.api.request("GET", `${podsPath}/${name}`)).body;
        return p.status?.phase === "Running" ? p : undefined;
    });
}

/** Deletes app pods and waits until they are gone, and the node forgets the pushed images (the next pull is real). */
async function removeAppPods(names: string[]): Promise<void> {
    for (const name of names) {
        await bed.cluster.api.request("DELETE", `${podsPath}/${name}`);
    }
    await waitFor("the pods to be gone", 60, async () =>
        (await bed.cluster.api.request("GET", podsPath)).body.items.length === 0 ? true : undefined,
    );
    const pulled = run("ctr", ["-a", bed.cluster.containerdSocket, "-n", "k8s.io", "images", "ls", "-q"])
        .split("\n")
        .filter(ref => ref.startsWith(`${hostname}/`));
    if (pulled.length) {
        run("ctr", ["-a", bed.cluster.containerdSocket, "-n", "k8s.io", "images", "rm", ...pulled]);
    }
}

/** A value of `pulumi stack export --show-secrets`, its secrets ({<signature>, plaintext: <JSON>}) unwrapped. */
function revealed(value: any): any {
    if (Array.isArray(value)) {
        return value.map(revealed);
    }
    if (value && typeof value === "object") {
        if ("4dabf18193072939515e22adb298388d" in value && typeof value.plaintext === "string") {
            return revealed(JSON.parse(value.plaintext));
        }
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, revealed(v)]));
    }
    return value;
}

/** The pull Secret's credentials for the registry, from a .dockerconfigjson. */
function pullAuth(dockerConfigJson: string): { username: string; password: string; auth: string } {
    return JSON.parse(dockerConfigJson).auths[hostname];
}

/** A CA that signed nothing the registry serves. */
function anotherCa(): string {
    return run("openssl", [
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
    ]);
}

interface Scenario {
    /** The image's name in the node's containerd: images/build-images.sh. */
    image: string;
    pushTool: "docker" | "skopeo";
    /** "ingressDefault" with Docker insecure is the seed's setup (Pulumi.dev.yaml); "generated" is the default. */
    tls: "ingressDefault" | "generated";
    /** The extra steps (push benchmark, docker push, address change) run once, on the default. */
    full: boolean;
}

const scenarios: Scenario[] = [
    { image: "registry-2", pushTool: "docker", tls: "ingressDefault", full: false },
    { image: "registry-3", pushTool: "skopeo", tls: "generated", full: true },
];

describe.each(scenarios)("the program on a real node with $image, tls $tls, pushing with $pushTool", scenario => {
    const generated = scenario.tls === "generated";
    const stack = `e2e-${scenario.image}`;
    const image = why ? "" : imageReference(scenario.image);
    const version = image.split(":").pop();
    let upOutput = "";
    let dockerdPidBefore = "";

    e2e("pulumi up succeeds; the registry pod becomes Ready through its real probes", async () => {
        run("pulumi", ["stack", "init", stack, "--secrets-provider", "passphrase", "--non-interactive"], {
            cwd: bed.project.dir,
            env: bed.project.env,
        });
        const source =
            scenario.pushTool === "docker"
                ? `127.0.0.1:${bed.hub.port}/library/e2e-hello:v1`
                : `docker-archive:${path.join(imagesDir, "e2e-hello.tar")}`;
        bed.writeStackConfig(stack, [
            `image: ${image}`,
            `pushTool: ${scenario.pushTool}`,
            "pushImages:",
            `  - ${source}=hello:v1`,
            "imagePullSecretNamespaces:",
            `  - ${appsNamespace}`,
            "dockerRestartCommand:",
            `  - ${dockerdScript}`,
            "  - restart",
            `  - ${bed.dockerState}`,
            // The seed's setup, as Pulumi.dev.yaml sets it; the default sets neither key, and takes the Traefik opt-in.
            ...(generated ? ["traefikReadTimeoutSeconds: 1800"] : ["tls: ingressDefault", "dockerTrust: insecure"]),
        ]);
        dockerdPidBefore = bed.dockerdPid();

        let podReadyAt: number | undefined;
        let watching = true;
        const started = Date.now();
        const watcher = (async () => {
            while (watching && podReadyAt === undefined) {
                if (await readyPod(bed.cluster.api, "examples", registryPods).catch(() => undefined)) {
                    podReadyAt = Date.now();
                }
                await new Promise(r => setTimeout(r, 200));
            }
        })();
        const up = await bed.project.cli(`${stack}-up`, [
            "up",
            "--yes",
            "--skip-preview",
            "--non-interactive",
            "--stack",
            stack,
        ]);
        watching = false;
        await watcher;
        upOutput = up.output;
        expect(up.code).toBe(0);
        figures[`${version}: pulumi up from empty (s)`] = up.seconds;
        figures[`${version}: up start to registry pod Ready (s)`] = podReadyAt
            ? (podReadyAt - started) / 1000
            : "not seen";
        figures[`${version}: up start to verification passed, the last step (s)`] = up.seconds;

        const deployment = (
            await bed.cluster.api.request("GET", "/apis/apps/v1/namespaces/examples/deployments/registry")
        ).body;
        expect(deployment.status.readyReplicas).toBe(1);
        const pod = await readyPod(bed.cluster.api, "examples", registryPods);
        expect(pod.spec.nodeName).toBe("dr-node");
        expect(pod.spec.containers[0].image).toBe(image);
        expect(pod.spec.containers[0].readinessProbe.httpGet.path).toBe("/");
        expect(pod.status.containerStatuses[0]).toMatchObject({ ready: true, restartCount: 0 });
        expect(pod.status.podIP).toMatch(/^10\.244\.0\.\d+$/);

        // What a user does next: run the pushed image in another namespace. The node resolves and trusts the registry
        // through node trust alone (no one touched the node), and pulls with the pull Secret.
        const clusterIP = (await bed.cluster.api.request("GET", "/api/v1/namespaces/examples/services/registry")).body
            .spec.clusterIP;
        expect((await bed.cluster.api.request("POST", podsPath, appPod("with-secret", true, clusterIP))).status).toBe(
            201,
        );
        await runningPod("with-secret");
        figures[`${version}: up start to a pod in another namespace Running with the pushed image (s)`] =
            (Date.now() - started) / 1000;
    });

    e2e("the claim is bound on local-path, the default class, and the pod writes to it", async () => {
        const claim = (
            await bed.cluster.api.request("GET", "/api/v1/namespaces/examples/persistentvolumeclaims/registry-data")
        ).body;
        expect(claim.status.phase).toBe("Bound");
        expect(claim.spec.storageClassName).toBe("local-path");
        const volume = (await bed.cluster.api.request("GET", `/api/v1/persistentvolumes/${claim.spec.volumeName}`))
            .body;
        const hostPath: string = volume.spec.hostPath?.path ?? volume.spec.local?.path;
        expect(hostPath.startsWith(path.join(bed.cluster.dir, "local-path"))).toBe(true);
        expect(fs.existsSync(path.join(hostPath, "docker", "registry", "v2", "repositories", "hello"))).toBe(true);
    });

    e2e(
        "Traefik serves the Ingress's host over TLS and routes it to the registry (401 without credentials)",
        async () => {
            const ingress = (
                await bed.cluster.api.request(
                    "GET",
                    "/apis/networking.k8s.io/v1/namespaces/examples/ingresses/registry",
                )
            ).body;
            expect(ingress.spec.ingressClassName).toBe("traefik");
            expect(ingress.status.loadBalancer.ingress).toEqual([{ ip: ingressAddress }]);
            const anonymous = await bed.throughIngress("GET", "/v2/", { auth: false });
            expect(anonymous.status).toBe(401);
            expect(anonymous.headers["www-authenticate"]).toMatch(/^Basic realm=/);
            expect((await bed.throughIngress("GET", "/v2/")).status).toBe(200);
            if (generated) {
                // Verified: the chain ends at the stack's CA and the certificate names the host (Node refuses it otherwise).
                const verified = await bed.throughIngress("GET", "/v2/", {
                    ca: bed.project.outputs(stack).caCertificate,
                });
                expect(verified.status).toBe(200);
                expect(verified.certificate.subject.CN).toBe(hostname);
                expect(verified.certificate.subjectaltname).toBe(`DNS:${hostname}, IP Address:${ingressAddress}`);
                expect(verified.certificate.issuer.CN).toMatch(/^distribution-registry CA [0-9a-f]{16}$/);
                expect(ingress.spec.tls).toEqual([
                    { hosts: [hostname], secretName: expect.stringMatching(/^registry-tls-[0-9a-f]{8}$/) },
                ]);
            } else {
                expect(anonymous.certificate.subject.CN).toBe("TRAEFIK DEFAULT CERT");
            }
        },
    );

    e2e(
        "the hosts line points the hostname at Traefik; the trust is in place; the push went through Traefik and the registry serves what it reported",
        async () => {
            expect(fs.readFileSync(bed.hostsCopy, "utf8")).toContain(
                `${ingressAddress} ${hostname} # distribution-registry: distribution-registry/${stack}/registry\n`,
            );
            if (generated) {
                // The CA in certs.d, daemon.json untouched, no restart: Docker reads certs.d at each connection.
                expect(fs.readFileSync(path.join(bed.dockerEtc, "certs.d", hostname, "ca.crt"), "utf8")).toBe(
                    bed.project.outputs(stack).caCertificate,
                );
                expect(fs.readFileSync(path.join(bed.dockerEtc, "daemon.json"), "utf8")).toBe(daemonJsonBefore);
                expect(bed.dockerdPid()).toBe(dockerdPidBefore);
            } else {
                expect(JSON.parse(fs.readFileSync(path.join(bed.dockerEtc, "daemon.json"), "utf8"))).toEqual({
                    "log-level": "warn",
                    "insecure-registries": [hostname],
                });
            }
            const pushed = pushResult(stack);
            expect(pushed.tool).toBe(scenario.pushTool);
            if (scenario.pushTool === "docker") {
                // dockerRestartCommand restarted the test's engine, so insecure-registries took effect.
                expect(bed.dockerdPid()).not.toBe(dockerdPidBefore);
                expect(
                    JSON.parse(bed.docker(["info", "--format", "{{json .RegistryConfig.IndexConfigs}}"]))[hostname]
                        .Secure,
                ).toBe(false);
                expect(
                    bed.docker(["image", "inspect", "--format", "{{json .RepoDigests}}", `${hostname}/hello:v1`]),
                ).toContain(`${hostname}/hello@${pushed.digests["hello:v1"]}`);
            }
            // Whichever tool pushed: its manifest PUT crossed Traefik and was stored, and the registry serves the digest
            // the push reported (not only the Command's own report of it).
            expect(fs.readFileSync(path.join(bed.cluster.dir, "logs", "traefik-access.log"), "utf8")).toMatch(
                /"PUT \/v2\/hello\/manifests\/v1 HTTP\/[\d.]+" 201/,
            );
            expect(pushed.digests["hello:v1"]).toMatch(/^sha256:[0-9a-f]{64}$/);
            expect(await bed.servedDigest("hello", "v1")).toBe(pushed.digests["hello:v1"]);
        },
    );

    e2e("the verification's digest is the one the push reported and the one Traefik serves", async () => {
        const outputs = bed.project.outputs(stack);
        const reported = pushResult(stack).digests["hello:v1"];
        expect(reported).toMatch(/^sha256:[0-9a-f]{64}$/);
        expect(outputs.digests).toEqual({ "hello:v1": reported });
        expect(await bed.servedDigest("hello", "v1")).toBe(reported);
        expect(outputs.url).toBe(`https://${hostname}`);
        expect(outputs.htpasswd).toBe("[secret]");
        expect(outputs.imagePullSecretName).toBe("registry-pull");
    });

    e2e(
        "node trust: its pod is Ready on the node, which has hosts.toml (with the stack's CA, or skip_verify for the seed's setup) and the hosts line; KEP-1755's ConfigMap says where the registry is",
        async () => {
            const daemonSet = (
                await bed.cluster.api.request("GET", "/apis/apps/v1/namespaces/examples/daemonsets/registry-node-trust")
            ).body;
            expect(daemonSet.status).toMatchObject({ desiredNumberScheduled: 1, numberReady: 1 });
            const pod = await readyPod(bed.cluster.api, "examples", "app.kubernetes.io/name=registry-node-trust");
            expect(pod.spec.nodeName).toBe("dr-node");
            expect(pod.spec.containers[0].image).toBe(image);
            expect(pod.status.containerStatuses[0].restartCount).toBe(0);
            const marker = `# distribution-registry: distribution-registry/${stack}/registry`;
            const hostDir = path.join(bed.cluster.nodeCertsDir, hostname);
            const hostsToml = fs.readFileSync(path.join(hostDir, "hosts.toml"), "utf8");
            expect(hostsToml.split("\n")[0]).toBe(marker);
            expect(hostsToml).toContain(`server = "https://${hostname}"\n\n[host."https://${hostname}"]\n`);
            if (generated) {
                expect(hostsToml).toContain('\n  ca = "ca.crt"\n');
                expect(fs.readFileSync(path.join(hostDir, "ca.crt"), "utf8")).toBe(
                    bed.project.outputs(stack).caCertificate,
                );
                expect(fs.readdirSync(hostDir).sort()).toEqual(["ca.crt", "hosts.toml"]);
            } else {
                expect(hostsToml).toContain("\n  skip_verify = true\n");
                expect(fs.readdirSync(hostDir)).toEqual(["hosts.toml"]);
            }
            // The node's own /etc/hosts (a bind mount of this file): ours is the last line, the rest as it was.
            expect(fs.readFileSync(bed.cluster.nodeHosts, "utf8")).toBe(
                `${bed.nodeHostsBefore.toString("utf8")}${ingressAddress} ${hostname} ${marker}\n`,
            );
            const kep = (
                await bed.cluster.api.request("GET", "/api/v1/namespaces/kube-public/configmaps/local-registry-hosting")
            ).body;
            expect(kep.data).toEqual({
                "localRegistryHosting.v1": [
                    `host: "${hostname}"`,
                    `hostFromContainerRuntime: "${hostname}"`,
                    'hostFromClusterNetwork: "registry.examples.svc:5000"',
                    'help: "https://distribution.github.io/distribution/"',
                    "",
                ].join("\n"),
            });
        },
    );

    e2e(
        "a pod in another namespace pulls the pushed image with the image-pull Secret and runs; without it the registry refuses the pull (401)",
        async () => {
            const clusterIP = (await bed.cluster.api.request("GET", "/api/v1/namespaces/examples/services/registry"))
                .body.spec.clusterIP;
            expect(
                (await bed.cluster.api.request("POST", podsPath, appPod("without-secret", false, clusterIP))).status,
            ).toBe(201);
            // An image from Docker Hub fails on the node itself: no lookup or request leaves the machine.
            expect(
                (
                    await bed.cluster.api.request(
                        "POST",
                        podsPath,
                        appPod("from-docker-hub", false, clusterIP, "nginx:1.27"),
                    )
                ).status,
            ).toBe(201);
            const running = await runningPod("with-secret");
            expect(running.status.containerStatuses[0].imageID).toBe(
                `${hostname}/hello@${pushResult(stack).digests["hello:v1"]}`,
            );
            const log = await waitFor("the pod's answer from the registry's Service", 30, async () => {
                const r = await bed.cluster.api.request("GET", `${podsPath}/with-secret/log`);
                return r.status === 200 && String(r.body).includes("HTTP/1.0") ? String(r.body) : undefined;
            });
            expect(log.trim()).toBe("HTTP/1.0 200 OK");
            // The kubelet's message of the failed pull: not any pull error (a name or trust problem), the registry's 401.
            const refused = await waitFor("the pod without the pull Secret to fail its pull", 120, async () => {
                const p = (await bed.cluster.api.request("GET", `${podsPath}/without-secret`)).body;
                const waiting = p.status.containerStatuses?.[0]?.state?.waiting;
                return waiting?.reason === "ErrImagePull" && waiting.message ? waiting : undefined;
            });
            expect(refused.message).toMatch(/401 Unauthorized/);
            const closed = await waitFor("the Docker Hub pull to fail on the node", 60, async () => {
                const waiting = (await bed.cluster.api.request("GET", `${podsPath}/from-docker-hub`)).body.status
                    .containerStatuses?.[0]?.state?.waiting;
                return waiting?.message ? waiting.message : undefined;
            });
            expect(closed).toContain("127.0.0.1:1");
            // The node forgets the image, so the next pull (and the next run's pod) is a real one.
            await removeAppPods(["with-secret", "without-secret", "from-docker-hub"]);
        },
    );

    e2e(
        "the pull Secret holds the pull account, not the admin's password: in the live Secret and in the exported state",
        async () => {
            const outputs = bed.project.outputs(stack, { showSecrets: true });
            expect(outputs.pullUsername).toBe("registry-pull");
            expect(outputs.pullPassword).toMatch(/^[A-Za-z0-9]{32}$/);
            const expected = {
                username: "registry-pull",
                password: outputs.pullPassword,
                auth: Buffer.from(`registry-pull:${outputs.pullPassword}`).toString("base64"),
            };
            const live = (
                await bed.cluster.api.request("GET", `/api/v1/namespaces/${appsNamespace}/secrets/registry-pull`)
            ).body;
            expect(live.type).toBe("kubernetes.io/dockerconfigjson");
            const liveJson = Buffer.from(live.data[".dockerconfigjson"], "base64").toString("utf8");
            expect(pullAuth(liveJson)).toEqual(expected);
            // The state, decrypted: the Secret's resource holds the same, and the admin's password in no form.
            const state = JSON.parse(bed.project.exportState(stack, { showSecrets: true }));
            const resource = revealed(
                state.deployment.resources.find((r: any) => r.urn.endsWith(`::registry-pull-secret-${appsNamespace}`)),
            );
            // The provider keeps stringData as data (base64), in the inputs and the outputs alike.
            const fromState = (data: Record<string, string>) =>
                pullAuth(Buffer.from(data[".dockerconfigjson"], "base64").toString("utf8"));
            expect(fromState(resource.inputs.data)).toEqual(expected);
            expect(fromState(resource.outputs.data)).toEqual(expected);
            const stateJson = Buffer.from(resource.inputs.data[".dockerconfigjson"], "base64").toString("utf8");
            const exported = `${JSON.stringify(resource)}\n${stateJson}`;
            for (const form of [
                password,
                Buffer.from(password).toString("base64"),
                Buffer.from(`${username}:${password}`).toString("base64"),
            ]) {
                expect(exported.includes(form) ? `the pull Secret's state holds ${form}` : "no admin password").toBe(
                    "no admin password",
                );
            }
            expect([liveJson, stateJson].some(j => j.includes(password) || j.includes(`"${username}"`))).toBe(false);
            // And encrypted in the state as it is kept.
            const kept = JSON.parse(bed.project.exportState(stack)).deployment.resources.find((r: any) =>
                r.urn.endsWith(`::registry-pull-secret-${appsNamespace}`),
            );
            expect(JSON.stringify(kept.inputs.data)).toContain("ciphertext");
        },
    );

    if (scenario.full) {
        e2e(
            "a second registry in the cluster cannot take KEP-1755's ConfigMap: its up fails naming the field conflict, and its destroy leaves the first one's",
            async () => {
                const second = `${stack}-second`;
                run("pulumi", ["stack", "init", second, "--secrets-provider", "passphrase", "--non-interactive"], {
                    cwd: bed.project.dir,
                    env: bed.project.env,
                });
                bed.writeStackConfig(second, [
                    `image: ${image}`,
                    "namespace: e2e-second",
                    "hostname: second.test",
                    "tls: ingressDefault",
                    "dockerTrust: none",
                    "hostsEntry: false",
                    "pushEnabled: false",
                    "nodeTrust: false",
                    "storageType: emptyDir",
                    "skipAwait: true",
                ]);
                const kepPath = "/api/v1/namespaces/kube-public/configmaps/local-registry-hosting";
                const before = (await bed.cluster.api.request("GET", kepPath)).body;
                const up = await bed.project.cli(`${second}-up`, [
                    "up",
                    "--yes",
                    "--skip-preview",
                    "--non-interactive",
                    "--stack",
                    second,
                ]);
                expect(up.code).not.toBe(0);
                // The Kubernetes provider applies server-side: the ConfigMap exists, and its data is another manager's.
                expect(up.output).toContain("Server-Side Apply field conflict detected");
                expect(up.output).toMatch(/conflict with "pulumi-kubernetes-[0-9a-z]+"/);
                expect(up.output).toContain(".data.localRegistryHosting.v1");
                const after = (await bed.cluster.api.request("GET", kepPath)).body;
                expect(after.data).toEqual(before.data);
                const destroy = await bed.project.cli(`${second}-destroy`, [
                    "destroy",
                    "--yes",
                    "--skip-preview",
                    "--non-interactive",
                    "--stack",
                    second,
                ]);
                expect(destroy.code).toBe(0);
                expect((await bed.cluster.api.request("GET", kepPath)).body.data).toEqual(before.data);
                run("pulumi", ["stack", "rm", "--yes", "--stack", second], {
                    cwd: bed.project.dir,
                    env: bed.project.env,
                });
                await waitFor("the second namespace to be gone", 120, async () =>
                    (await bed.cluster.api.request("GET", "/api/v1/namespaces/e2e-second")).status === 404
                        ? true
                        : undefined,
                );
            },
        );
    }

    e2e(
        "no plaintext password (nor, with tls generated, private key) in pulumi up's output, the outputs or the exported state",
        async () => {
            expect(upOutput).not.toContain("p@ss");
            const exported = bed.project.exportState(stack);
            expect(exported).toContain("ciphertext");
            // The outputs in plaintext, secrets decrypted: a secret output holding the password would show here.
            const outputs = JSON.stringify(bed.project.outputs(stack, { showSecrets: true }));
            expect(JSON.parse(outputs).htpasswd).toMatch(/^registry-admin:\$2y\$05\$/);
            for (const form of [
                password,
                Buffer.from(password).toString("base64"),
                Buffer.from(`${username}:${password}`).toString("base64"),
            ]) {
                for (const [where, text] of [
                    ["state", exported],
                    ["the outputs", outputs],
                ]) {
                    expect(text.includes(form) ? `${where} holds ${form}` : "no plaintext").toBe("no plaintext");
                }
            }
            if (generated) {
                // The server key as Traefik reads it from the Secret; the CA key exists only in state, encrypted.
                const ingress = (
                    await bed.cluster.api.request(
                        "GET",
                        "/apis/networking.k8s.io/v1/namespaces/examples/ingresses/registry",
                    )
                ).body;
                const secret = (
                    await bed.cluster.api.request(
                        "GET",
                        `/api/v1/namespaces/examples/secrets/${ingress.spec.tls[0].secretName}`,
                    )
                ).body;
                expect(secret.type).toBe("kubernetes.io/tls");
                const keyPem = Buffer.from(secret.data["tls.key"], "base64").toString();
                expect(keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
                for (const form of [
                    "PRIVATE KEY",
                    Buffer.from("-----BEGIN PRIVATE KEY-----").toString("base64").slice(0, 32),
                    keyPem.split("\n")[1],
                    secret.data["tls.key"],
                ]) {
                    for (const [where, text] of [
                        ["state", exported],
                        ["pulumi up's output", upOutput],
                        ["the outputs", outputs],
                    ]) {
                        expect(text.includes(form) ? `${where} holds ${form}` : "no plaintext key").toBe(
                            "no plaintext key",
                        );
                    }
                }
            }
        },
    );

    if (generated) {
        e2e(
            "the Traefik opt-in is stored as k3s's HelmChartConfig \"traefik\" in kube-system, with websecure's readTimeout in its values (no helm controller runs here to apply them)",
            async () => {
                const config = (
                    await bed.cluster.api.request(
                        "GET",
                        "/apis/helm.cattle.io/v1/namespaces/kube-system/helmchartconfigs/traefik",
                    )
                ).body;
                expect(config.spec.valuesContent).toBe(
                    "ports:\n  websecure:\n    transport:\n      respondingTimeouts:\n        readTimeout: 1800s\n",
                );
                expect(config.metadata.labels["app.kubernetes.io/instance"]).toBe("registry");
            },
        );

        e2e(
            "the checks verify the chain: the stack's CA passes, another CA fails with the hint naming the trust options",
            async () => {
                const target = {
                    hostname,
                    address: ingressAddress,
                    port: 443,
                    username,
                    password,
                    repositories: ["hello"],
                    deadlineSeconds: 3,
                };
                const caCertificate = bed.project.outputs(stack).caCertificate;
                expect(await verifyCatalog({ ...target, tls: { mode: "ca", caCertificate } })).toEqual(["hello"]);
                const refused = await verifyCatalog({
                    ...target,
                    tls: { mode: "ca", caCertificate: anotherCa() },
                }).then(
                    () => undefined,
                    e => e as Error,
                );
                expect(refused?.message).toContain(
                    `the TLS certificate served at ${ingressAddress}:443 for ${hostname} is not trusted`,
                );
                expect(refused?.message).toContain('The trust options: tls "generated" (the default)');
                expect(refused?.message).toContain('dockerTrust "ca" and dockerCaFile');
            },
        );
    }

    e2e("a second pulumi up, a preview and a refresh report no changes", async () => {
        const second = await bed.project.cli(`${stack}-up-again`, [
            "up",
            "--yes",
            "--skip-preview",
            "--expect-no-changes",
            "--non-interactive",
            "--stack",
            stack,
        ]);
        expect(second.code).toBe(0);
        figures[`${version}: second pulumi up, nothing changed (s)`] = second.seconds;
        expect(
            (
                await bed.project.cli(`${stack}-preview`, [
                    "preview",
                    "--expect-no-changes",
                    "--non-interactive",
                    "--stack",
                    stack,
                ])
            ).code,
        ).toBe(0);
        expect(
            (
                await bed.project.cli(`${stack}-refresh`, [
                    "refresh",
                    "--yes",
                    "--expect-no-changes",
                    "--non-interactive",
                    "--stack",
                    stack,
                ])
            ).code,
        ).toBe(0);
    });

    e2e("the pushed tag and digest survive the registry pod's restart (claim on local-path)", async () => {
        const before = await readyPod(bed.cluster.api, "examples", registryPods);
        const digest = await bed.servedDigest("hello", "v1");
        await bed.cluster.api.request("DELETE", `/api/v1/namespaces/examples/pods/${before.metadata.name}`);
        const after = await waitFor("a new Ready registry pod", 180, async () => {
            const p = await readyPod(bed.cluster.api, "examples", registryPods);
            return p && p.metadata.name !== before.metadata.name ? p : undefined;
        });
        expect(after.metadata.uid).not.toBe(before.metadata.uid);
        const tags = await waitFor("the tags through Traefik", 60, async () => {
            const r = await bed.throughIngress("GET", "/v2/hello/tags/list");
            return r.status === 200 ? JSON.parse(r.body) : undefined;
        });
        expect(tags).toEqual({ name: "hello", tags: ["v1"] });
        expect(await bed.servedDigest("hello", "v1")).toBe(digest);
    });

    if (scenario.full) {
        e2e(
            "docker pushes on the default path too: trusting certs.d, with no insecure registry and no daemon restart",
            async () => {
                const pidBefore = bed.dockerdPid();
                run("pulumi", ["config", "set", "pushTool", "docker", "--stack", stack], {
                    cwd: bed.project.dir,
                    env: bed.project.env,
                });
                run(
                    "pulumi",
                    [
                        "config",
                        "set",
                        "--path",
                        "pushImages[0]",
                        `127.0.0.1:${bed.hub.port}/library/e2e-hello:v1=hello:v1`,
                        "--stack",
                        stack,
                    ],
                    { cwd: bed.project.dir, env: bed.project.env },
                );
                const up = await bed.project.cli(`${stack}-docker-push`, [
                    "up",
                    "--yes",
                    "--skip-preview",
                    "--non-interactive",
                    "--stack",
                    stack,
                ]);
                expect(up.code).toBe(0);
                expect(up.output).toMatch(/registry-image-push\s+replaced/);
                const pushed = pushResult(stack);
                expect(pushed.tool).toBe("docker");
                expect(bed.dockerdPid()).toBe(pidBefore);
                expect(fs.readFileSync(path.join(bed.dockerEtc, "daemon.json"), "utf8")).toBe(daemonJsonBefore);
                // Docker knows nothing insecure about the registry: it verified Traefik's certificate against certs.d.
                expect(
                    JSON.parse(bed.docker(["info", "--format", "{{json .RegistryConfig.IndexConfigs}}"]))[hostname]
                        ?.Secure ?? true,
                ).toBe(true);
                expect(
                    bed.docker(["image", "inspect", "--format", "{{json .RepoDigests}}", `${hostname}/hello:v1`]),
                ).toContain(`${hostname}/hello@${pushed.digests["hello:v1"]}`);
                expect(fs.readFileSync(path.join(bed.cluster.dir, "logs", "traefik-access.log"), "utf8")).toMatch(
                    /"PUT \/v2\/hello\/manifests\/v1 HTTP\/[\d.]+" 201/,
                );
                expect(bed.project.outputs(stack).digests).toEqual({
                    "hello:v1": await bed.servedDigest("hello", "v1"),
                });
            },
        );

        e2e(
            "an address change updates the hosts line in place and the checks pass through the new address",
            async () => {
                run("pulumi", ["config", "set", "address", otherIngressAddress, "--stack", stack], {
                    cwd: bed.project.dir,
                    env: bed.project.env,
                });
                const up = await bed.project.cli(`${stack}-address-change`, [
                    "up",
                    "--yes",
                    "--skip-preview",
                    "--non-interactive",
                    "--stack",
                    stack,
                ]);
                expect(up.code).toBe(0);
                expect(up.output).toMatch(/registry-hosts-entry\s+updated/);
                expect(up.output).not.toMatch(/registry-hosts-entry\s+replaced/);
                expect(fs.readFileSync(bed.hostsCopy, "utf8")).toContain(
                    `${otherIngressAddress} ${hostname} # distribution-registry: distribution-registry/${stack}/registry\n`,
                );
                expect(fs.readFileSync(bed.hostsCopy, "utf8")).not.toContain(`${ingressAddress} ${hostname}`);
                expect(bed.project.outputs(stack).digests).toEqual({
                    "hello:v1": await bed.servedDigest("hello", "v1", otherIngressAddress),
                });
                // The certificate names the new address, from the same CA: Traefik serves it once it has read the updated Secret.
                const ca = bed.project.outputs(stack).caCertificate;
                const served = await waitFor("Traefik to serve the certificate for the new address", 30, async () => {
                    const r = await bed.throughIngress("GET", "/v2/", { address: otherIngressAddress, ca });
                    return r.certificate.subjectaltname?.includes(otherIngressAddress) ? r.certificate : undefined;
                });
                expect(served.subjectaltname).toBe(`DNS:${hostname}, IP Address:${otherIngressAddress}`);
                expect(fs.readFileSync(path.join(bed.dockerEtc, "certs.d", hostname, "ca.crt"), "utf8")).toBe(ca);
                // The rollout: a new Secret (create before delete), the Ingress moved to it, then the old one deleted.
                const [created, moved, deleted] = positions(up.output, [
                    /registry-tls\s+created replacement/,
                    /registry-ingress\s+updated/,
                    /registry-tls\s+deleted original/,
                ]);
                expect({ created: created >= 0, moved: moved >= 0, deleted: deleted >= 0 }).toEqual({
                    created: true,
                    moved: true,
                    deleted: true,
                });
                expect([created, moved, deleted]).toEqual([created, moved, deleted].sort((a, b) => a - b));
                // The nodes follow: node trust's pod rolled, and the node's line names the new address (one line).
                const marker = `# distribution-registry: distribution-registry/${stack}/registry`;
                expect(fs.readFileSync(bed.cluster.nodeHosts, "utf8")).toBe(
                    `${bed.nodeHostsBefore.toString("utf8")}${otherIngressAddress} ${hostname} ${marker}\n`,
                );
            },
        );

        e2e(
            "after the admin's password changes (pulumi up with a new one), the pull Secret is untouched and a new pod still pulls",
            async () => {
                const secretPath = `/api/v1/namespaces/${appsNamespace}/secrets/registry-pull`;
                const before = (await bed.cluster.api.request("GET", secretPath)).body;
                const original = fs.readFileSync(bed.terraformState, "utf8");
                const state = JSON.parse(original);
                state.outputs.container_registry_password.value = `${password} rotated`;
                fs.writeFileSync(bed.terraformState, JSON.stringify(state));
                const up = (step: string) =>
                    bed.project.cli(`${stack}-${step}`, [
                        "up",
                        "--yes",
                        "--skip-preview",
                        "--non-interactive",
                        "--stack",
                        stack,
                    ]);
                try {
                    // One up, as a user runs it: the registry's pods roll to the new password, then the push and the
                    // checks use it (tried again while a stopping pod of the old password still gets requests).
                    const changed = await up("password-change");
                    expect(changed.code).toBe(0);
                    expect(changed.output).toMatch(/registry-secret\s+(updated|replaced)/);
                    // The up did not touch the pull Secret.
                    expect(changed.output).not.toMatch(/registry-pull-secret-e2e-apps\s+(updated|replaced)/);
                    const after = (await bed.cluster.api.request("GET", secretPath)).body;
                    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
                    // The old admin password is refused (the checks of the up passed with the new one) once the ingress has
                    // forgotten the stopped pod, a second or two after the up.
                    const ca = bed.project.outputs(stack).caCertificate;
                    expect(
                        await waitFor("the old password to be refused everywhere", 30, async () =>
                            (await bed.throughIngress("GET", "/v2/", { ca })).status === 401 ? true : undefined,
                        ),
                    ).toBe(true);
                    const clusterIP = (
                        await bed.cluster.api.request("GET", "/api/v1/namespaces/examples/services/registry")
                    ).body.spec.clusterIP;
                    expect(
                        (await bed.cluster.api.request("POST", podsPath, appPod("after-rotation", true, clusterIP)))
                            .status,
                    ).toBe(201);
                    const running = await runningPod("after-rotation");
                    expect(running.status.containerStatuses[0].imageID).toBe(
                        `${hostname}/hello@${pushResult(stack).digests["hello:v1"]}`,
                    );
                    await removeAppPods(["after-rotation"]);
                } finally {
                    fs.writeFileSync(bed.terraformState, original);
                }
            },
        );
    }

    e2e(
        "pulumi destroy leaves no objects, no volume, the hosts file, the node's hosts file and certs.d byte-identical, and /etc/docker as it was",
        async () => {
            const claim = (
                await bed.cluster.api.request("GET", "/api/v1/namespaces/examples/persistentvolumeclaims/registry-data")
            ).body;
            const destroy = await bed.project.cli(`${stack}-destroy`, [
                "destroy",
                "--yes",
                "--skip-preview",
                "--non-interactive",
                "--stack",
                stack,
            ]);
            expect(destroy.code).toBe(0);
            for (const objectPath of [
                "/apis/apps/v1/namespaces/examples/deployments/registry",
                "/api/v1/namespaces/examples/secrets/registry",
                "/api/v1/namespaces/examples/services/registry",
                "/apis/networking.k8s.io/v1/namespaces/examples/ingresses/registry",
                `/api/v1/namespaces/${appsNamespace}/secrets/registry-pull`,
                "/apis/apps/v1/namespaces/examples/daemonsets/registry-node-trust",
                "/api/v1/namespaces/kube-public/configmaps/local-registry-hosting",
            ]) {
                expect(`${objectPath}: ${(await bed.cluster.api.request("GET", objectPath)).status}`).toBe(
                    `${objectPath}: 404`,
                );
            }
            expect(
                (
                    await bed.cluster.api.request(
                        "GET",
                        "/apis/helm.cattle.io/v1/namespaces/kube-system/helmchartconfigs/traefik",
                    )
                ).status,
            ).toBe(404);
            await waitFor("the namespace to be gone", 120, async () =>
                (await bed.cluster.api.request("GET", "/api/v1/namespaces/examples")).status === 404 ? true : undefined,
            );
            await waitFor("the volume to be released and deleted", 120, async () =>
                (await bed.cluster.api.request("GET", `/api/v1/persistentvolumes/${claim.spec.volumeName}`)).status ===
                404
                    ? true
                    : undefined,
            );
            expect(fs.readFileSync(bed.hostsCopy)).toEqual(bed.hostsBefore);
            // The node's files too, as soon as destroy returns: node trust's pod took away what it wrote when it
            // stopped, and the DaemonSet was gone only once its pod was.
            expect(fs.readFileSync(bed.cluster.nodeHosts).equals(bed.nodeHostsBefore)).toBe(true);
            expect(treeState(bed.cluster.nodeCertsDir)).toEqual(bed.nodeCertsBefore);
            expect(fs.readFileSync(path.join(bed.dockerEtc, "daemon.json"), "utf8")).toBe(daemonJsonBefore);
            // Every file and directory of /etc/docker as before the first up, modes and bytes: certs.d, made for the CA,
            // goes with it; dockerd's own files stay.
            expect(treeState(bed.dockerEtc)).toEqual(bed.dockerEtcBefore);
            expect(fs.existsSync("/tmp/dr-e2e-pwned")).toBe(false);
            run("pulumi", ["stack", "rm", "--yes", "--stack", stack], { cwd: bed.project.dir, env: bed.project.env });
        },
    );
});

describe("after both runs", () => {
    e2e(
        "stopping the node and the Docker engine puts the machine back: rules, routes, links, sysctls, mounts",
        async () => {
            await bed.stop();
            expect(machineState()).toEqual(bed.machineBefore);
        },
    );
});
