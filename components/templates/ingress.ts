import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { commonLabels, objectName, skipAwaitAnnotation } from "../naming";
import { containerPort } from "../registryConfig";
import { RegistrySettings } from "../settings";

/**
 * Annotations for ingress-nginx, whose 1m body limit turns a layer push into 413 and whose 60 s timeouts
 * cut long uploads. Traefik (k3s) ignores them and has no body limit.
 */
export const ingressNginxAnnotations: Record<string, string> = {
    "nginx.ingress.kubernetes.io/proxy-body-size": "0",
    "nginx.ingress.kubernetes.io/proxy-read-timeout": "600",
    "nginx.ingress.kubernetes.io/proxy-send-timeout": "600",
    "nginx.ingress.kubernetes.io/proxy-request-buffering": "off",
};

/** `tlsSecretName`: the generated Secret's name, known once it exists; otherwise the user's Secret, if any. */
export function renderIngress(
    s: RegistrySettings,
    tlsSecretName: string | undefined = s.tls.secretName,
): pulumi.Unwrap<k8s.types.input.networking.v1.Ingress> {
    return {
        apiVersion: "networking.k8s.io/v1",
        kind: "Ingress",
        metadata: {
            name: objectName(s.name),
            namespace: s.namespace,
            labels: commonLabels(s.name, s.labels),
            annotations: {
                ...ingressNginxAnnotations,
                ...s.ingress.annotations,
                ...(s.skipAwait ? { [skipAwaitAnnotation]: "true" } : {}),
            },
        },
        spec: {
            ...(s.ingress.className ? { ingressClassName: s.ingress.className } : {}),
            // Without a secret name the controller serves its default certificate (self-signed on k3s).
            tls: [{ hosts: [s.hostname], ...(tlsSecretName ? { secretName: tlsSecretName } : {}) }],
            rules: [
                {
                    host: s.hostname,
                    http: {
                        paths: [
                            {
                                path: "/",
                                pathType: "Prefix",
                                backend: { service: { name: objectName(s.name), port: { number: containerPort } } },
                            },
                        ],
                    },
                },
            ],
        },
    };
}
