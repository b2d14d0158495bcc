// The package's entry: the component, its arguments and enums, and the Terraform reader that feeds it (program/).
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
} from "./program/terraformOutputs";
