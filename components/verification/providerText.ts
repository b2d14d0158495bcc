import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";

/*
 * A dynamic resource carries its provider as code, in its `__provider` input: the text Pulumi's closure serializer
 * makes of the provider object, which the engine's dynamic-provider host loads (also for a delete, from the state).
 * Making that text takes about a second of every `pulumi up` and preview (the serializer loads the TypeScript
 * compiler and walks the packages), and it is the same for the same compiled code. So the build serializes each
 * provider once, into this file beside the compiled module, and a run of that build reads it. Run from the sources
 * (ts-node, a consumer's own stack), there is no such file: the text is made at construction, as
 * `pulumi.dynamic.Resource` makes it.
 */

/** The build's serialized providers: written beside the compiled module, in the build's own folder. */
export const serializedProvidersFile = "serializedProviders.json";

// The providers' input and output types differ per check; the text does not depend on them.
type Provider = object;

/** What `pulumi.dynamic.Resource` sends for this provider (dynamic/index.js: serializeFunction(() => provider)). */
export async function serializeProvider(provider: Provider): Promise<string> {
    const serialized = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
    if (serialized.containsSecrets) {
        // It would be stored in plaintext in the state; the checks take their secrets as inputs instead.
        throw new Error("a check's provider captured a secret: pass it as an input");
    }
    return serialized.text;
}

/** Each provider's text, by key: what the build writes to serializedProvidersFile. */
export async function serializeProviders(providers: Record<string, Provider>): Promise<Record<string, string>> {
    const texts: Record<string, string> = {};
    for (const [key, provider] of Object.entries(providers)) {
        texts[key] = await serializeProvider(provider);
    }
    return texts;
}

let prebuilt: Record<string, string> | undefined;
const madeHere = new WeakMap<Provider, Promise<string>>();

/** The provider's text: the build's, when this module runs from a build; else serialized once per process. */
export function providerText(key: string, provider: Provider): pulumi.Input<string> {
    prebuilt ??= readPrebuilt();
    const text = prebuilt[key];
    if (text !== undefined) {
        return text;
    }
    let made = madeHere.get(provider);
    if (!made) {
        made = serializeProvider(provider);
        madeHere.set(provider, made);
    }
    return made;
}

function readPrebuilt(): Record<string, string> {
    try {
        return JSON.parse(fs.readFileSync(path.join(__dirname, serializedProvidersFile), "utf8"));
    } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") {
            return {};
        }
        throw new Error(
            `${path.join(__dirname, serializedProvidersFile)} is not the build's: ${e}. Run \`npm run build\`.`,
            {
                cause: e,
            },
        );
    }
}
