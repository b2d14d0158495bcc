import { DistributionRegistry } from "./distributionRegistry";
import { ConfigReader, argsFromConfig, readCredentials, withConfigKeys } from "./programConfig";

/**
 * The program's one component, from the stack's config (and Terraform where config is silent). Everything
 * the config says is read and checked before the component registers anything, so a bad value is one
 * sentence naming its config key, and nothing is created.
 */
export async function registryFromConfig(config: ConfigReader, name = "registry"): Promise<DistributionRegistry> {
    const credentials = await readCredentials(config);
    return withConfigKeys(() => new DistributionRegistry(name, argsFromConfig(config, credentials)));
}
