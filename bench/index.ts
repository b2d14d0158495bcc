// npm run bench: every benchmark of the project, figures printed; none asserts a time.
import { main as programConstruction } from "./programConstruction";
import { main as registryThroughput } from "./registryThroughput";
import { main as tlsCertificates } from "./tlsCertificates";

async function all(): Promise<void> {
    await registryThroughput();
    console.log();
    await programConstruction();
    console.log();
    await (await import("./verification")).main();
    console.log();
    await tlsCertificates();
}

all().catch(e => {
    console.error(e);
    process.exit(1);
});
