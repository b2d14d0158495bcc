import * as pulumi from "@pulumi/pulumi";
import { registryFromConfig } from "./components/program";

// The program: config and Terraform outputs in, one DistributionRegistry, its outputs out. An async program,
// so that the Terraform outputs are read and every value checked before anything is registered.
export = async () => {
    const registry = await registryFromConfig(new pulumi.Config());
    return {
        url: registry.url,
        hostname: registry.hostname,
        namespace: registry.namespace,
        serviceName: registry.serviceName,
        htpasswd: registry.htpasswd,
        pushedImages: registry.pushedImages,
        digests: registry.digests,
        imagePullSecretName: registry.imagePullSecretName,
        pullUsername: registry.pullUsername,
        pullPassword: registry.pullPassword,
        caCertificate: registry.caCertificate,
    };
};
