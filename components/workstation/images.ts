import { ImageToPush } from "../args";
import { InputError, isImageReference, isRepositoryName, isTagName } from "../validation";

/** An image to push with every default applied. */
export interface ResolvedImage {
    source: string;
    repository: string;
    tag: string;
    platform: string;
}

export const defaultImages: ImageToPush[] = [{ source: "nginx", platform: "linux/amd64" }];

const nonRegistryTransports = [
    "oci:",
    "oci-archive:",
    "docker-archive:",
    "dir:",
    "containers-storage:",
    "docker-daemon:",
];
const platformPattern = /^[a-z0-9]+\/[a-z0-9_]+(?:\/[a-z0-9]+)?$/;

/**
 * Fills in repository, tag and platform from the source, as `docker tag <source> <host>/<name>` would, and checks them.
 * `tool` is the push tool when known: docker reads only registry references, without a transport prefix.
 */
export function resolveImages(images: ImageToPush[] = defaultImages, tool?: string): ResolvedImage[] {
    if (!Array.isArray(images) || images.length === 0) {
        throw new InputError(
            "pushImages",
            "is an empty list",
            'List at least one image, e.g. ["nginx"], or set pushEnabled false to push nothing.',
        );
    }
    const seen = new Set<string>();
    return images.map((image, i) => {
        const input = `pushImages[${i}]`;
        if (typeof image?.source !== "string" || image.source.length === 0) {
            throw new InputError(
                `${input}.source`,
                "is empty",
                'Name the image to push, e.g. "nginx" or "nginx:1.27".',
            );
        }
        const transport = [...nonRegistryTransports, "docker://"].find(t => image.source.startsWith(t));
        if (transport && tool === "docker") {
            throw new InputError(
                `${input}.source`,
                `"${image.source}" has the transport "${transport}", which the docker push tool cannot read`,
                transport === "docker://"
                    ? 'Drop the "docker://" prefix, or set pushTool "skopeo".'
                    : 'Set pushTool "skopeo" for non-registry sources.',
            );
        }
        const fromRegistry = !nonRegistryTransports.some(t => image.source.startsWith(t));
        const reference = image.source.replace(/^docker:\/\//, "");
        if (fromRegistry && !isImageReference(reference)) {
            throw new InputError(
                `${input}.source`,
                `"${image.source}" is not an image reference`,
                'Use e.g. "nginx", "nginx:1.27" or "docker.io/library/nginx:1.27".',
            );
        }
        if (!fromRegistry && !image.repository) {
            throw new InputError(
                `${input}.repository`,
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
            platform: image.platform ?? "linux/amd64",
        };
        if (!isRepositoryName(resolved.repository)) {
            throw new InputError(
                `${input}.repository`,
                `"${resolved.repository}" is not a repository name`,
                'Use lower-case path components, e.g. "nginx" or "team/app".',
            );
        }
        if (!isTagName(resolved.tag)) {
            throw new InputError(
                `${input}.tag`,
                `"${resolved.tag}" is not a tag`,
                "Use letters, digits, '_', '.' and '-', at most 128, not starting with '.' or '-'.",
            );
        }
        if (!platformPattern.test(resolved.platform)) {
            throw new InputError(
                `${input}.platform`,
                `"${resolved.platform}" is not a platform`,
                'Use os/arch[/variant], e.g. "linux/amd64".',
            );
        }
        const key = `${resolved.repository}:${resolved.tag}`;
        if (seen.has(key)) {
            throw new InputError(`${input}`, `${key} is pushed twice`, "Give each repository and tag once.");
        }
        seen.add(key);
        return resolved;
    });
}
