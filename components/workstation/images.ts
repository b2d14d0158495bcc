import { ImageToPush, PushTool } from "../args";
import { InputError, isImageReference, isPlain, isRepositoryName, isTagName } from "../validation";

/** An image to push with every default applied. */
export interface ResolvedImage {
    source: string;
    repository: string;
    tag: string;
    platform: string;
}

const nonRegistryTransports = [
    "oci:",
    "oci-archive:",
    "docker-archive:",
    "dir:",
    "containers-storage:",
    "docker-daemon:",
];
const platformPattern = /^[a-z0-9]+\/[a-z0-9_]+(?:\/[a-z0-9]+)?$/;

const input = "workstation.push.images";

/**
 * Fills in repository, tag and platform from the source, as `docker tag <source> <host>/<name>` would, and checks them.
 * `tool` is the push tool when known: docker reads only registry references, without a transport prefix. The images
 * must be plain values: they decide how many checks there are.
 */
export function resolveImages(images: ImageToPush[], push: { tool?: string; platform: string }): ResolvedImage[] {
    const { tool } = push;
    if (!isPlain(images)) {
        throw new InputError(
            input,
            "is an Output, or holds one (it depends on another resource or a secret)",
            "Give the images as plain values: they decide which checks exist before anything runs.",
        );
    }
    if (!Array.isArray(images)) {
        throw new InputError(
            input,
            `${JSON.stringify(images)} is not a list`,
            'Give a list, e.g. [{ source: "nginx" }].',
        );
    }
    if (images.length === 0) {
        throw new InputError(
            input,
            "is an empty list",
            'List at least one image, e.g. [{ source: "nginx" }], or set workstation.push.enabled false to push nothing.',
        );
    }
    const seen = new Set<string>();
    return images.map((image, i) => {
        const item = `${input}[${i}]`;
        if (typeof image?.source !== "string" || image.source.length === 0) {
            throw new InputError(`${item}.source`, "is empty", 'Name the image to push, e.g. "nginx" or "nginx:1.27".');
        }
        const transport = [...nonRegistryTransports, "docker://"].find(t => image.source.startsWith(t));
        if (transport && tool === PushTool.Docker) {
            throw new InputError(
                `${item}.source`,
                `"${image.source}" has the transport "${transport}", which the docker push tool cannot read`,
                transport === "docker://"
                    ? 'Drop the "docker://" prefix, or set workstation.push.tool "skopeo".'
                    : 'Set workstation.push.tool "skopeo" for non-registry sources.',
            );
        }
        const fromRegistry = !nonRegistryTransports.some(t => image.source.startsWith(t));
        const reference = image.source.replace(/^docker:\/\//, "");
        if (fromRegistry && !isImageReference(reference)) {
            throw new InputError(
                `${item}.source`,
                `"${image.source}" is not an image reference`,
                'Use e.g. "nginx", "nginx:1.27" or "docker.io/library/nginx:1.27".',
            );
        }
        if (!fromRegistry && !image.repository) {
            throw new InputError(
                `${item}.repository`,
                `is needed for the source "${image.source}"`,
                'Name the repository to push it to, e.g. "hello".',
            );
        }
        const withoutDigest = reference.split("@")[0];
        const lastPart = withoutDigest.split("/").pop() ?? "";
        const [sourceName, sourceTag] = lastPart.split(":");
        const resolved: ResolvedImage = {
            source: image.source,
            repository: image.repository ?? sourceName,
            tag: image.tag ?? (fromRegistry ? sourceTag : undefined) ?? "latest",
            platform: image.platform ?? push.platform,
        };
        if (!isRepositoryName(resolved.repository)) {
            throw new InputError(
                `${item}.repository`,
                `"${resolved.repository}" is not a repository name`,
                'Use lower-case path components, e.g. "nginx" or "team/app".',
            );
        }
        if (!isTagName(resolved.tag)) {
            throw new InputError(
                `${item}.tag`,
                `"${resolved.tag}" is not a tag`,
                "Use letters, digits, '_', '.' and '-', at most 128, not starting with '.' or '-'.",
            );
        }
        if (!platformPattern.test(resolved.platform)) {
            throw new InputError(
                image.platform === undefined ? "workstation.push.platform" : `${item}.platform`,
                `"${resolved.platform}" is not a platform`,
                'Use os/arch[/variant], e.g. "linux/amd64".',
            );
        }
        const key = `${resolved.repository}:${resolved.tag}`;
        if (seen.has(key)) {
            throw new InputError(item, `${key} is pushed twice`, "Give each repository and tag once.");
        }
        seen.add(key);
        return resolved;
    });
}
