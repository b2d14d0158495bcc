// Another stack reusing the component: it imports the installed package, never the sources of this repository.
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { DistributionRegistry, DockerTrustMode } from "distribution-registry/components";

const config = new pulumi.Config();
// An explicit provider: the registry goes to this cluster whatever the default kubeconfig says.
const cluster = new k8s.Provider("cluster", { kubeconfig: config.get("kubeconfig") });

const registry = new DistributionRegistry(
    "shared",
    {
        address: config.get("address") ?? "192.0.2.10",
        username: "ci",
        password: config.requireSecret("password"),
        hostname: "registry.consumer.test",
        namespace: config.get("namespace") ?? "consumer",
        createNamespace: true,
        // Where no image can be pulled (the engine test's node), the one the node already has.
        image: config.get("image"),
        // A string still types as the StorageType enum (source-compatible); emptyDir needs no storage class.
        storage: { type: "emptyDir" },
        skipAwait: true,
        // A CI runner: no hosts line, no Docker, no push (and so no checks).
        workstation: {
            hostsEntry: { enabled: false },
            dockerTrust: { mode: DockerTrustMode.None },
            push: { enabled: false },
        },
        // On by default (the package's own node-trust script); the engine test's node is not k3s, and turns it off.
        nodeTrust: { enabled: config.getBoolean("nodeTrust") ?? true },
    },
    { providers: { kubernetes: cluster } },
);

export const url = registry.url;
export const namespace = registry.namespace;
export const serviceName = registry.serviceName;
export const htpasswd = registry.htpasswd;
