import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { run } from "./realNode";

/**
 * A docker-archive (the `docker save` format skopeo reads as `docker-archive:`) of one layer holding `megabytes`
 * of random bytes: incompressible, and new to any registry, so a push sends all of it. Returns the archive's path.
 */
export function makeRandomLayerImage(dir: string, megabytes: number): string {
    const rootfs = path.join(dir, "rootfs");
    fs.mkdirSync(rootfs, { recursive: true });
    const data = fs.openSync(path.join(rootfs, "random.bin"), "w");
    for (let i = 0; i < megabytes; i++) {
        fs.writeSync(data, crypto.randomBytes(1024 * 1024));
    }
    fs.closeSync(data);
    const layer = path.join(dir, "layer.tar");
    run("tar", ["-C", rootfs, "-cf", layer, "."]);
    fs.rmSync(rootfs, { recursive: true });
    const layerDigest = crypto.createHash("sha256").update(fs.readFileSync(layer)).digest("hex");
    const config = JSON.stringify({
        architecture: "amd64",
        os: "linux",
        config: {},
        rootfs: { type: "layers", diff_ids: [`sha256:${layerDigest}`] },
    });
    const configDigest = crypto.createHash("sha256").update(config).digest("hex");
    const archiveDir = path.join(dir, "archive");
    fs.mkdirSync(path.join(archiveDir, layerDigest), { recursive: true });
    fs.renameSync(layer, path.join(archiveDir, layerDigest, "layer.tar"));
    fs.writeFileSync(path.join(archiveDir, `${configDigest}.json`), config);
    fs.writeFileSync(
        path.join(archiveDir, "manifest.json"),
        JSON.stringify([
            { Config: `${configDigest}.json`, RepoTags: ["bench:v1"], Layers: [`${layerDigest}/layer.tar`] },
        ]),
    );
    const archive = path.join(dir, "image.tar");
    run("tar", ["-C", archiveDir, "-cf", archive, "."]);
    fs.rmSync(archiveDir, { recursive: true });
    return archive;
}
