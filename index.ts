import * as pulumi from "@pulumi/pulumi";
import { DistributionRegistry } from "./components";
import { argsFromConfig, credentialsFromConfig } from "./components/programConfig";

// The program: config and Terraform outputs in, one DistributionRegistry, its outputs out.
const config = new pulumi.Config();
const registry = new DistributionRegistry("registry", argsFromConfig(config, credentialsFromConfig(config)));

export const url = registry.url;
export const hostname = registry.hostname;
export const namespace = registry.namespace;
export const serviceName = registry.serviceName;
export const htpasswd = registry.htpasswd;
export const pushedImages = registry.pushedImages;
export const digests = registry.digests;
export const imagePullSecretName = registry.imagePullSecretName;
