export { DistributionRegistry } from "./distributionRegistry";
export * from "./args";
export { InputError } from "./validation";
export {
    registryCredentialsFromTerraform,
    readTerraformOutputs,
    RegistryCredentials,
    TerraformSource,
    TerraformOutputNames,
    defaultOutputNames,
    TerraformError,
} from "./terraformOutputs";
