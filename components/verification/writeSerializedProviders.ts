import * as fs from "fs";
import * as path from "path";
import { serializeProviders, serializedProvidersFile } from "./providerText";
import { checkProviders } from "./registryChecks";

/**
 * The build's step after tsc (components/program/build.js runs this compiled module): the checks' providers,
 * serialized from the compiled code, into serializedProvidersFile beside it.
 */
export async function writeSerializedProviders(): Promise<void> {
    const texts = await serializeProviders(checkProviders);
    fs.writeFileSync(path.join(__dirname, serializedProvidersFile), JSON.stringify(texts));
}

if (require.main === module) {
    writeSerializedProviders().catch(e => {
        process.stderr.write(`error: serializing the checks' providers failed: ${e}\n`);
        process.exit(1);
    });
}
