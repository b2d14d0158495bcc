import { DistributionRegistry } from "../distributionRegistry";
import { InputError } from "../validation";
import { ConfigReader, argsFromConfig, inConfigTerms, readCredentials } from "./stackConfig";

/*
 * The program's side: stack config and the Terraform stack in, one DistributionRegistry out. The component knows
 * nothing of this folder; this folder reads the component's defaults and names its errors in config terms.
 */

/**
 * The program's one component, from the stack's config (and Terraform where config is silent). Everything
 * the config says is read and checked before the component registers anything, so a bad value is one
 * sentence naming its config key, and nothing is created.
 */
export async function registryFromConfig(config: ConfigReader, name = "registry"): Promise<DistributionRegistry> {
    try {
        const credentials = await readCredentials(config);
        return new DistributionRegistry(name, argsFromConfig(config, credentials));
    } catch (e) {
        throw e instanceof InputError ? inConfigTerms(e) : e;
    }
}
