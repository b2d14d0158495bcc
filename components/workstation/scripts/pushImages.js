"use strict";
// Logs in to the registry and pushes the images, with docker (pull, tag, login, push, as in the seed)
// or skopeo (a daemonless copy). The password arrives on stdin and leaves only through a child's stdin:
// it is never in an argument, an environment variable or the output.
// Inputs from the environment: DR_PUSH_TOOL, DR_REGISTRY (host or host:port), DR_USERNAME,
// DR_IMAGES (JSON [{source, repository, tag, platform}]), DR_TLS_MODE (insecure|ca|system), DR_CA_CERTIFICATE (PEM, for "ca").
// Usage: node pushImages.js push|remove  (remove: docker logout and the local tags; skopeo keeps nothing)
const childProcess = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");
const { report } = require("./report");

const transports = [
    "docker://",
    "oci:",
    "oci-archive:",
    "docker-archive:",
    "dir:",
    "containers-storage:",
    "docker-daemon:",
];

// The registry may not take a request at once: just after a password or config change it may still be rolling (for a
// second or two the ingress sends requests to a pod that is stopping, which refuses the new password and cuts the
// upload it refuses), and on a first run the ingress may not route to the pod that just became Ready (Traefik applies
// a change up to 2 s later: 404, 502, 503). A tool that failed so is run again, soon and then a few seconds apart,
// for longer than that; a wrong password or a missing route is reported once the attempts are spent.
const passingTrouble =
    /unauthorized|authentication required|\b401\b|invalid username\/password|incorrect username or password|broken pipe|connection reset|unexpected EOF|\b404\b|\b502\b|\b503\b/i;
const retryDelaysSeconds = [0.25, 0.5, 1, 2, 2, 2];

function sleepSeconds(seconds) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, seconds * 1000);
}

/** Runs a tool without a shell; its output goes to our stderr so that stdout stays the JSON result. */
function tool(command, args, input) {
    for (let attempt = 1; ; attempt++) {
        const result = childProcess.spawnSync(command, args, {
            input: input === undefined ? "" : input,
            stdio: ["pipe", 2, "pipe"],
        });
        if (result.stderr && result.stderr.length) {
            process.stderr.write(result.stderr);
        }
        if (result.error && result.error.code === "ENOENT") {
            throw new Error(
                `${command} is not installed or not on PATH; install it, choose the other pushTool, or turn the push off (pushEnabled false)`,
            );
        }
        if (result.status === 0) {
            return;
        }
        if (attempt <= retryDelaysSeconds.length && passingTrouble.test(String(result.stderr))) {
            const delay = retryDelaysSeconds[attempt - 1];
            process.stderr.write(
                `${command} was refused, cut off or not routed; the registry may be starting or rolling: trying again in ${delay} s\n`,
            );
            sleepSeconds(delay);
            continue;
        }
        throw new Error(
            `\`${command} ${args
                .filter(a => !a.startsWith("--"))
                .slice(0, 2)
                .join(" ")}\` failed (exit ${result.status}); see its output above`,
        );
    }
}

/** Runs a tool without a shell and returns its standard output. */
function toolOutput(command, args) {
    const result = childProcess.spawnSync(command, args, { input: "", stdio: ["pipe", "pipe", 2], encoding: "utf8" });
    if (result.status !== 0) {
        throw new Error(
            `\`${command} ${args.slice(0, 2).join(" ")}\` failed (exit ${result.status}); see its output above`,
        );
    }
    return result.stdout;
}

function destination(o, image) {
    return `${o.registry}/${image.repository}:${image.tag}`;
}

function pushWithDocker(o, password) {
    const tagged = [];
    let loggedIn = false;
    try {
        for (const image of o.images) {
            if (transports.some(t => image.source.startsWith(t))) {
                throw new Error(`docker cannot read "${image.source}": use pushTool "skopeo" for non-registry sources`);
            }
            tool("docker", ["pull", "--platform", image.platform, image.source]);
            tool("docker", ["tag", image.source, destination(o, image)]);
            tagged.push(destination(o, image));
        }
        tool("docker", ["login", "--username", o.username, "--password-stdin", o.registry], password);
        loggedIn = true;
        const digests = {};
        for (const image of o.images) {
            tool("docker", ["push", destination(o, image)]);
            // After a push, the engine records the digest the registry gave it as <registry>/<repository>@<digest>.
            const repoDigests = JSON.parse(
                toolOutput("docker", ["inspect", "--format", "{{json .RepoDigests}}", destination(o, image)]) || "[]",
            );
            const prefix = `${o.registry}/${image.repository}@`;
            const found = (repoDigests || []).find(d => d.startsWith(prefix));
            digests[`${image.repository}:${image.tag}`] = found ? found.slice(prefix.length) : "";
        }
        return { pushed: tagged, digests };
    } catch (e) {
        // Nothing of a failed push stays behind: Pulumi keeps no state for a failed create, so no delete would undo it.
        undoDocker(o.registry, tagged, loggedIn);
        throw e;
    }
}

function undoDocker(registry, tagged, loggedIn) {
    for (const reference of tagged) {
        childProcess.spawnSync("docker", ["rmi", reference], { stdio: ["ignore", 2, 2] });
    }
    if (loggedIn) {
        childProcess.spawnSync("docker", ["logout", registry], { stdio: ["ignore", 2, 2] });
    }
}

function pushWithSkopeo(o, password) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "distribution-registry-auth-"));
    const authFile = path.join(dir, "auth.json");
    try {
        // skopeo trusts a CA through a directory holding it as ca.crt (as Docker's certs.d): a private one, whatever Docker was told.
        let tls = [];
        if (o.tlsMode === "insecure") {
            tls = ["--tls-verify=false"];
        } else if (o.tlsMode === "ca") {
            const certDir = path.join(dir, "certs");
            fs.mkdirSync(certDir);
            fs.writeFileSync(path.join(certDir, "ca.crt"), o.caCertificate);
            tls = ["--cert-dir", certDir];
        }
        const destinationTls = tls.map(a => a.replace(/^--/, "--dest-"));
        tool(
            "skopeo",
            ["login", "--authfile", authFile, "--username", o.username, "--password-stdin", ...tls, o.registry],
            password,
        );
        const pushed = [];
        const digests = {};
        const digestFile = path.join(dir, "digest");
        for (const image of o.images) {
            const source = transports.some(t => image.source.startsWith(t)) ? image.source : `docker://${image.source}`;
            const [os, arch, variant] = image.platform.split("/");
            tool("skopeo", [
                "copy",
                "--retry-times",
                "2",
                "--override-os",
                os,
                "--override-arch",
                arch,
                ...(variant ? ["--override-variant", variant] : []),
                "--digestfile",
                digestFile,
                "--dest-authfile",
                authFile,
                ...destinationTls,
                source,
                `docker://${destination(o, image)}`,
            ]);
            pushed.push(destination(o, image));
            digests[`${image.repository}:${image.tag}`] = fs.readFileSync(digestFile, "utf8").trim();
        }
        return { pushed, digests };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

function inputs() {
    const env = process.env;
    const images = JSON.parse(env.DR_IMAGES || "[]");
    if (!Array.isArray(images) || !images.every(i => i && i.source && i.repository && i.tag && i.platform)) {
        throw new Error("DR_IMAGES must be a list of {source, repository, tag, platform}");
    }
    if (env.DR_TLS_MODE === "ca" && !(env.DR_CA_CERTIFICATE || "").includes("BEGIN CERTIFICATE")) {
        throw new Error('DR_TLS_MODE "ca" needs DR_CA_CERTIFICATE, the PEM of the registry\'s CA');
    }
    if (env.DR_PUSH_TOOL !== "docker" && env.DR_PUSH_TOOL !== "skopeo") {
        throw new Error(`push tool "${env.DR_PUSH_TOOL}" is not "docker" or "skopeo"`);
    }
    return {
        tool: env.DR_PUSH_TOOL,
        registry: env.DR_REGISTRY,
        username: env.DR_USERNAME || "",
        images,
        tlsMode: env.DR_TLS_MODE || "system",
        caCertificate: env.DR_CA_CERTIFICATE || "",
    };
}

function main(action, password) {
    const o = inputs();
    if (action === "push") {
        if (!password) {
            throw new Error("no password on standard input");
        }
        // The digests are the ones the registry gave the push; the verification reads them back through the API.
        const { pushed, digests } = o.tool === "docker" ? pushWithDocker(o, password) : pushWithSkopeo(o, password);
        return { tool: o.tool, registry: o.registry, pushed, digests };
    }
    if (action === "remove") {
        if (o.tool === "docker") {
            undoDocker(
                o.registry,
                o.images.map(i => destination(o, i)),
                true,
            );
        }
        return { tool: o.tool, registry: o.registry, removed: true };
    }
    throw new Error(`unknown action "${action}": use push or remove`);
}

function run(action) {
    report("image push", () => main(action, action === "push" ? fs.readFileSync(0, "utf8") : ""));
}

module.exports = { main, run };
if (require.main === module) {
    run(process.argv[2]);
}
