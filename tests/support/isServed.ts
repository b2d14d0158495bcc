import { RegistryEndpoint, RegistryError, manifestDigest } from "../../components/verification/registryClient";

/** Whether the registry still serves repository:tag (false on 404; any other error is thrown). */
export async function isServed(endpoint: RegistryEndpoint, repository: string, tag: string): Promise<boolean> {
    try {
        await manifestDigest(endpoint, repository, tag);
        return true;
    } catch (err) {
        if (err instanceof RegistryError && err.kind === "notFound") {
            return false;
        }
        throw err;
    }
}
