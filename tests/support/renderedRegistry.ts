import { renderHtpasswd } from "../../components/htpasswd";
import { renderRegistryConfig } from "../../components/registryConfig";
import { PlainSettingsArgs, secretInputEntries, settingsFromArgs } from "../../components/settings";
import { renderConfigMap } from "../../components/templates/configMap";
import { renderDeployment } from "../../components/templates/deployment";
import { renderIngress } from "../../components/templates/ingress";
import { podChecksum } from "../../components/templates/registryPod";
import { renderSecret } from "../../components/templates/secret";
import { renderService } from "../../components/templates/service";

/**
 * What the registry's Kubernetes objects would be for these inputs, password and kept random values included. The
 * secret inputs (S3 keys, Redis password) go into the Secret as the component puts them there, so a test of the
 * Secret checks the component's quoting and keys, not values the test made itself.
 */
export function renderRegistry(
    args: PlainSettingsArgs = {},
    password = "s3cret!",
    saltKey = "key",
    httpSecret = "kept-http-secret-value",
) {
    const s = settingsFromArgs("registry", args);
    const htpasswd = renderHtpasswd([{ username: "admin", password }], saltKey, s.bcryptCost);
    const configText = renderRegistryConfig(s);
    const secretInputs = secretInputEntries({
        s3AccessKey: args.storage?.s3?.accessKey,
        s3SecretKey: args.storage?.s3?.secretKey,
        redisPassword: args.redis?.password,
    });
    const pullUser = { username: "registry-pull", password: "pull-pass" };
    return {
        settings: s,
        config: JSON.parse(configText),
        configText,
        secret: renderSecret(s, htpasswd, httpSecret, pullUser, secretInputs) as any,
        deployment: renderDeployment(
            s,
            podChecksum(configText, htpasswd, httpSecret, Object.values(secretInputs)),
        ) as any,
        ingress: renderIngress(s) as any,
        service: renderService(s) as any,
        configMap: renderConfigMap(s) as any,
    };
}
