/** The major versions of Distribution the component renders for. */
export type RegistryMajorVersion = 2 | 3;

/**
 * The major version an image runs, as its tag says: "registry:2.8.3" and "registry:2" are 2, "…/registry:3.1.2" is 3.
 * A tag that does not say ("latest", "edge", a digest alone) gives undefined: what depends on the version then asks
 * for imageMajorVersion.
 */
export function majorVersionOfImage(image: string): RegistryMajorVersion | undefined {
    const withoutDigest = image.split("@")[0];
    const lastPart = withoutDigest.slice(withoutDigest.lastIndexOf("/") + 1);
    const colon = lastPart.indexOf(":");
    if (colon < 0) {
        return undefined;
    }
    const major = /^v?([0-9]+)(?:[.-]|$)/.exec(lastPart.slice(colon + 1))?.[1];
    return major === "2" ? 2 : major === "3" ? 3 : undefined;
}
