import * as childProcess from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";

/**
 * A tiny image in an OCI layout directory, made here without a network or a Docker engine:
 * one gzipped layer holding one file. skopeo reads it as `oci:<dir>:<tag>`.
 */
export interface LocalImage {
    /** skopeo source reference, `oci:<dir>:<tag>`. */
    source: string;
    dir: string;
    tag: string;
    /** Digest of the image manifest. */
    manifestDigest: string;
}

export function makeOciImage(dir: string, tag = "latest", content = `hello from ${tag}\n`): LocalImage {
    const blobs = path.join(dir, "blobs", "sha256");
    fs.mkdirSync(blobs, { recursive: true });
    const work = fs.mkdtempSync(path.join(dir, ".layer-"));
    fs.writeFileSync(path.join(work, "hello.txt"), content);
    const tarFile = path.join(dir, "layer.tar");
    run("tar", [
        "--sort=name",
        "--mtime=@0",
        "--owner=0",
        "--group=0",
        "--numeric-owner",
        "-cf",
        tarFile,
        "-C",
        work,
        "hello.txt",
    ]);
    const tar = fs.readFileSync(tarFile);
    const gz = require("zlib").gzipSync(tar) as Buffer;
    const put = (data: Buffer | string) => {
        const buffer = Buffer.isBuffer(data) ? data : Buffer.from(data);
        const hex = crypto.createHash("sha256").update(buffer).digest("hex");
        fs.writeFileSync(path.join(blobs, hex), buffer);
        return { digest: `sha256:${hex}`, size: buffer.length };
    };
    const layer = put(gz);
    const diffId = `sha256:${crypto.createHash("sha256").update(tar).digest("hex")}`;
    const config = put(
        JSON.stringify({
            architecture: "amd64",
            os: "linux",
            config: { Cmd: ["/hello.txt"] },
            rootfs: { type: "layers", diff_ids: [diffId] },
        }),
    );
    const manifest = put(
        JSON.stringify({
            schemaVersion: 2,
            mediaType: "application/vnd.oci.image.manifest.v1+json",
            config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
            layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...layer }],
        }),
    );
    fs.writeFileSync(path.join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    fs.writeFileSync(
        path.join(dir, "index.json"),
        JSON.stringify({
            schemaVersion: 2,
            manifests: [
                {
                    mediaType: "application/vnd.oci.image.manifest.v1+json",
                    ...manifest,
                    annotations: { "org.opencontainers.image.ref.name": tag },
                },
            ],
        }),
    );
    fs.rmSync(work, { recursive: true });
    fs.rmSync(tarFile);
    return { source: `oci:${dir}:${tag}`, dir, tag, manifestDigest: manifest.digest };
}

function run(cmd: string, args: string[]) {
    const r = childProcess.spawnSync(cmd, args, { encoding: "utf8" });
    if (r.status !== 0) {
        throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr}`);
    }
}
