import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { InputError } from "../../components/validation";
import { checkWorkstationFiles } from "../../components/workstation/preflight";

/**
 * Files this user cannot write, checked at preview. The tests run as root, who may write anything, so the
 * access check is made to answer as it would for another user.
 */
describe("workstation files at preview", () => {
    let dir: string;
    let hosts: string;
    let access: jest.SpyInstance;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "dr-preflight-"));
        hosts = path.join(dir, "hosts");
        fs.writeFileSync(hosts, "127.0.0.1 localhost\n");
        // The module object itself: the namespace `import * as fs` gives has read-only bindings to it.
        access = jest.spyOn(require("fs") as typeof fs, "accessSync").mockImplementation(target => {
            if (target === hosts) {
                throw Object.assign(new Error("EACCES"), { code: "EACCES" });
            }
        });
    });
    afterEach(() => {
        access.mockRestore();
        fs.rmSync(dir, { recursive: true, force: true });
    });
    const args = (sudo: "auto" | "always" | "never") => ({ hostsEntry: { file: hosts, sudo } });
    const plan = { hostsEntry: true, dockerTrustMode: "none" as const };

    test('not writable and sudo "never": an error naming the file, the sudo option and the fix', () => {
        expect(() => checkWorkstationFiles(args("never"), plan, () => true)).toThrow(InputError);
        expect(() => checkWorkstationFiles(args("never"), plan, () => true)).toThrow(
            /^workstation\.hostsEntry\.file: .*hosts is not writable by this user and workstation\.hostsEntry\.sudo is "never"\. Make it writable, or set/,
        );
    });

    test("not writable and `sudo -n` needs a password: an error saying to run `sudo -v` first", () => {
        for (const sudo of ["auto", "always"] as const) {
            expect(() => checkWorkstationFiles(args(sudo), plan, () => false)).toThrow(
                /^workstation\.hostsEntry\.file: .*hosts is not writable by this user and `sudo -n` cannot run without a password\. Run `sudo -v`/,
            );
        }
    });

    test("not writable but `sudo -n` works: accepted, as the scripts will use it", () => {
        expect(() => checkWorkstationFiles(args("auto"), plan, () => true)).not.toThrow();
    });
});
