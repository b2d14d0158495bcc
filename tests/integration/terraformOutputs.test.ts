import * as childProcess from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import {
    TerraformError,
    outputString,
    parseOutputsJson,
    readTerraformOutputs,
    registryCredentialsFromTerraform,
    runTerraformOutput,
} from "../../components/program/terraformOutputs";
import { itUnless, needsCommands } from "../support/requirements";

/** OpenTofu as tests/support/build-tofu.sh builds it from the Go module proxy (.ci/run does). */
const builtTofu = path.join(
    process.env.DR_TOFU_DIR ?? path.join(os.homedir(), ".cache", "distribution-registry-tofu"),
    "tofu",
);
const binaries = [
    // Terraform where the machine has it: only v1.5.7 is MPL and buildable, and .ci/run does not build it (allowedSkips.js).
    { name: "terraform", binary: "terraform", why: needsCommands("terraform") },
    {
        name: "tofu",
        binary: builtTofu,
        why: fs.existsSync(builtTofu) ? undefined : "tofu not built: run tests/support/build-tofu.sh",
    },
];

const outputs = {
    vm_public_ip: { value: "192.0.2.10", type: "string", sensitive: false },
    container_registry_username: { value: "admin", type: "string", sensitive: false },
    container_registry_password: { value: "s3cr3t", type: "string", sensitive: true },
};

/** A Terraform configuration with only outputs: `init` and `apply` need no provider and no network. */
const terraformConfig = `
output "vm_public_ip" { value = "192.0.2.10" }
output "container_registry_username" { value = "admin" }
output "container_registry_password" {
  value     = "p@ss w\\"ord"
  sensitive = true
}
`;

function valueOf<T>(o: pulumi.Output<T>): Promise<T> {
    return new Promise(resolve =>
        o.apply(v => {
            resolve(v);
            return v;
        }),
    );
}
async function isSecret<T>(o: pulumi.Output<T>): Promise<boolean> {
    return pulumi.isSecret(o);
}

describe("Terraform outputs reader", () => {
    let dir: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "dr-tf-"));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    test("reads a version 4 state file", async () => {
        const file = path.join(dir, "terraform.tfstate");
        fs.writeFileSync(file, JSON.stringify({ version: 4, terraform_version: "1.11.4", outputs, resources: [] }));
        const read = await readTerraformOutputs({ stateFile: file });
        expect(outputString(read.outputs, "vm_public_ip", read.origin, "k")).toBe("192.0.2.10");
        expect(read.outputs.container_registry_password.sensitive).toBe(true);
    });

    test("the password is a secret the moment it is read; address and username stay readable", async () => {
        await pulumi.runtime.setMocks({ newResource: a => ({ id: a.name, state: a.inputs }), call: a => a.inputs });
        const file = path.join(dir, "terraform.tfstate");
        fs.writeFileSync(file, JSON.stringify({ version: 4, outputs }));
        const credentials = registryCredentialsFromTerraform({ stateFile: file });
        expect(await valueOf(credentials.password)).toBe("s3cr3t");
        expect(await isSecret(credentials.password)).toBe(true);
        expect(await isSecret(credentials.address)).toBe(false);
        expect(await isSecret(credentials.username)).toBe(false);
        const allSensitive = path.join(dir, "sensitive.tfstate");
        fs.writeFileSync(
            allSensitive,
            JSON.stringify({
                version: 4,
                outputs: { ...outputs, container_registry_username: { value: "admin", sensitive: true } },
            }),
        );
        expect(await isSecret(registryCredentialsFromTerraform({ stateFile: allSensitive }).username)).toBe(true);
    });

    test.each([
        [
            "unsupported state version",
            JSON.stringify({ version: 3, modules: [] }),
            /state format version 3 is not supported; only version 4.*terraformDir/,
        ],
        [
            "malformed JSON",
            '{"version": 4, "outputs": {',
            /not valid JSON \(.*\)\. Check that the file is a Terraform state/,
        ],
        ["not an object", "[1, 2]", /not a Terraform state file/],
    ])("a state file with %s is a clear error naming the file", async (_name, text, message) => {
        const file = path.join(dir, "terraform.tfstate");
        fs.writeFileSync(file, text);
        await expect(readTerraformOutputs({ stateFile: file })).rejects.toThrow(message);
        await expect(readTerraformOutputs({ stateFile: file })).rejects.toThrow(file);
    });

    test("a missing state file, a missing output and a non-string output are clear errors", async () => {
        await expect(readTerraformOutputs({ stateFile: path.join(dir, "nope.tfstate") })).rejects.toThrow(
            /terraformStateFile: cannot read .*nope\.tfstate \(ENOENT\)/,
        );
        expect(() =>
            outputString({ a: { value: "x" } }, "vm_public_ip", "state file s", "terraformAddressOutput"),
        ).toThrow(
            /Terraform output "vm_public_ip" not found in state file s \(it has: a\)\. .*set terraformAddressOutput/,
        );
        expect(() => outputString({ vm_public_ip: { value: ["x"] } }, "vm_public_ip", "o", "k")).toThrow(
            /is a object, not a string/,
        );
        expect(() => parseOutputsJson("nope", "`terraform output -json`")).toThrow(TerraformError);
    });

    test("a missing directory and a missing binary are clear errors that say what to do", async () => {
        await expect(runTerraformOutput(path.join(dir, "infra"))).rejects.toThrow(
            /terraformDir: directory .*infra does not exist\. Set terraformDir .* or terraformStateFile/,
        );
        await expect(runTerraformOutput(dir, "no-such-terraform-binary")).rejects.toThrow(
            /terraformBinary: "no-such-terraform-binary" was not found on PATH.*"tofu"/,
        );
    });

    for (const { name, binary, why } of binaries) {
        itUnless(why)(`runs a real \`${name} output -json\` on an applied configuration`, async () => {
            fs.writeFileSync(path.join(dir, "main.tf"), terraformConfig);
            // An empty CLI configuration: no ~/.terraformrc warnings, no plugin cache, nothing from outside the test.
            fs.writeFileSync(path.join(dir, "terraformrc"), "");
            const env = {
                ...process.env,
                TF_IN_AUTOMATION: "1",
                CHECKPOINT_DISABLE: "1",
                TF_CLI_CONFIG_FILE: path.join(dir, "terraformrc"),
            };
            for (const args of [
                ["init", "-input=false"],
                ["apply", "-auto-approve", "-input=false"],
            ]) {
                const r = childProcess.spawnSync(binary, [`-chdir=${dir}`, ...args], { env, encoding: "utf8" });
                expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
            }
            const saved = process.env.TF_CLI_CONFIG_FILE;
            process.env.TF_CLI_CONFIG_FILE = env.TF_CLI_CONFIG_FILE;
            const read = await readTerraformOutputs({ dir, binary }).finally(() => {
                if (saved === undefined) {
                    delete process.env.TF_CLI_CONFIG_FILE;
                } else {
                    process.env.TF_CLI_CONFIG_FILE = saved;
                }
            });
            expect(outputString(read.outputs, "container_registry_password", read.origin, "k")).toBe('p@ss w"ord');
            expect(read.outputs.container_registry_password.sensitive).toBe(true);
            expect(outputString(read.outputs, "vm_public_ip", read.origin, "k")).toBe("192.0.2.10");
            // The state file it wrote reads the same without the binary.
            const fromState = await readTerraformOutputs({ stateFile: path.join(dir, "terraform.tfstate") });
            expect(fromState.outputs.container_registry_password.value).toBe('p@ss w"ord');
            const failing = runTerraformOutput(dir, "false");
            await expect(failing).rejects.toThrow(/`false output -json` failed in .* \(exit 1\)/);
        });
    }
});
