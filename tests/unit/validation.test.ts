import { defaults } from "../../components/defaults";
import { checkNamespaceList } from "../../components/plan";
import { settingsFromArgs, usersFromArgs } from "../../components/settings";
import { validateAddress, InputError } from "../../components/validation";
import { resolveImages } from "../../components/workstation/images";

const push = { platform: "linux/amd64" };

describe("input validation names the input and the fix", () => {
    const bad: Array<[string, () => unknown, RegExp]> = [
        ["empty username", () => usersFromArgs([{ username: "", password: "p" }]), /^username: is empty\. Set/],
        [
            "username with ':'",
            () => usersFromArgs([{ username: "a:b", password: "p" }]),
            /^username: "a:b" contains ':'.*Choose/,
        ],
        ["empty password", () => usersFromArgs([{ username: "a", password: "" }]), /^password: is empty/],
        [
            "extra user's password",
            () =>
                usersFromArgs([
                    { username: "a", password: "p" },
                    { username: "b", password: "" },
                ]),
            /^extraUsers\[0\]\.password: is empty/,
        ],
        [
            "duplicate user",
            () =>
                usersFromArgs([
                    { username: "a", password: "p" },
                    { username: "a", password: "q" },
                ]),
            /^extraUsers\[0\]\.username: "a" is listed twice/,
        ],
        [
            "a user named as the pull account",
            () =>
                usersFromArgs(
                    [
                        { username: "a", password: "p" },
                        { username: "registry-pull", password: "q" },
                    ],
                    "registry-pull",
                ),
            /^extraUsers\[0\]\.username: "registry-pull" is the pull account's username\. Give one of the two/,
        ],
        [
            "deleteUntagged on registry 2.x",
            () => settingsFromArgs("r", { image: "registry:2.8.3", garbageCollection: { deleteUntagged: true } }),
            /^garbageCollection\.deleteUntagged: is refused for registry:2\.8\.3: registry 2\.x deletes the per-platform manifests of multi-arch images with it \(distribution\/distribution#3178, fixed in 3\.0\.0\)\. Use a registry:3 image/,
        ],
        [
            "deleteUntagged where the tag does not tell the version",
            () => settingsFromArgs("r", { image: "registry:latest", garbageCollection: { deleteUntagged: true } }),
            /^garbageCollection\.deleteUntagged: needs registry 3\.x, and the tag of registry:latest does not say which major version it runs\. Set imageMajorVersion to 3/,
        ],
        [
            "a schedule that is not cron",
            () => settingsFromArgs("r", { garbageCollection: { schedule: "weekly" } }),
            /^garbageCollection\.schedule: "weekly" is not a cron schedule\. Give five fields/,
        ],
        [
            "a schedule with a time zone inside",
            () => settingsFromArgs("r", { garbageCollection: { schedule: "TZ=UTC 0 3 * * 0" } }),
            /^garbageCollection\.schedule: .* is not a cron schedule/,
        ],
        [
            "a kubectl image that is not a reference",
            () => settingsFromArgs("r", { garbageCollection: { kubectlImage: "Kubectl latest" } }),
            /^garbageCollection\.kubectlImage: "Kubectl latest" is not a valid image reference\. Use .*e\.g\. "registry\.k8s\.io\/kubectl:v1\.37\.2"/,
        ],
        [
            "pull account username with ':'",
            () => settingsFromArgs("r", { pullAccount: { username: "pull:er" } }),
            /^pullAccount\.username: "pull:er" contains ':'/,
        ],
        [
            "hostname with a scheme",
            () => settingsFromArgs("r", { hostname: "https://registry.test" }),
            /^hostname: .* is not a DNS name\. Use/,
        ],
        ["upper-case hostname", () => settingsFromArgs("r", { hostname: "Registry.test" }), /^hostname:/],
        ["address", () => validateAddress("registry.test"), /^address: "registry.test" is not an IPv4 or IPv6 address/],
        // A mapped address passes net.isIP, but the certificate would name the 16-byte form, which no client matches.
        [
            "IPv4-mapped IPv6 address",
            () => validateAddress("::ffff:192.0.2.10"),
            /^address: "::ffff:192\.0\.2\.10" is an IPv4-mapped IPv6 address\. Give the IPv4 address, "192\.0\.2\.10"\./,
        ],
        [
            "IPv4-mapped IPv6 address, spelt out in hex",
            () => validateAddress("0:0:0:0:0:FFFF:C000:020A"),
            /^address: .* is an IPv4-mapped IPv6 address\. Give the IPv4 address, "192\.0\.2\.10"\./,
        ],
        [
            "namespace",
            () => settingsFromArgs("r", { namespace: "My_NS" }),
            /^namespace: "My_NS" is not a DNS-1123 label/,
        ],
        [
            "zero replicas",
            () => settingsFromArgs("r", { replicas: 0 }),
            /^replicas: 0 is not a whole number of at least 1/,
        ],
        [
            "replicas on ReadWriteOnce",
            () => settingsFromArgs("r", { replicas: 2, storage: { type: "persistentVolumeClaim" } }),
            /^replicas: 2 replicas need storage .*ReadWriteMany/,
        ],
        [
            "replicas on emptyDir",
            () => settingsFromArgs("r", { replicas: 2, storage: { type: "emptyDir" } }),
            /^replicas: 2 replicas need storage/,
        ],
        [
            "replicas on the default claim",
            () => settingsFromArgs("r", { replicas: 2 }),
            /^replicas: 2 replicas need storage .*ReadWriteMany/,
        ],
        [
            "pull-secret namespace",
            () => checkNamespaceList(["apps", "Apps"]),
            /^imagePullSecretNamespaces\[1\]: "Apps" is not a DNS-1123 label/,
        ],
        [
            "pull-secret namespace twice",
            () => checkNamespaceList(["apps", "apps"]),
            /^imagePullSecretNamespaces\[1\]: "apps" is listed twice/,
        ],
        ["bcrypt cost 3", () => settingsFromArgs("r", { bcryptCost: 3 }), /^bcryptCost: 3 is outside 4\.\.31/],
        ["bcrypt cost 32", () => settingsFromArgs("r", { bcryptCost: 32 }), /^bcryptCost: 32 is outside 4\.\.31/],
        [
            "image",
            () => settingsFromArgs("r", { image: "Registry:latest" }),
            /^image: "Registry:latest" is not a valid image reference/,
        ],
        ["image with spaces", () => settingsFromArgs("r", { image: "registry:2 ; rm -rf /" }), /^image:/],
        ["port", () => settingsFromArgs("r", { port: 70000 }), /^port: 70000 is not a TCP port/],
        ["push image", () => resolveImages([{ source: "nginx;rm" }], push), /^workstation\.push\.images\[0\]\.source:/],
        [
            "push tag",
            () => resolveImages([{ source: "nginx", tag: "-bad" }], push),
            /^workstation\.push\.images\[0\]\.tag:/,
        ],
        [
            "archive without repository",
            () => resolveImages([{ source: "oci-archive:/x.tar" }], push),
            /^workstation\.push\.images\[0\]\.repository: is needed/,
        ],
    ];
    test.each(bad)("%s", (_name, run, message) => {
        expect(run).toThrow(InputError);
        expect(run).toThrow(message);
    });

    test("good inputs pass: IPv4, IPv6, registry:2 and registry:3 images with registries and digests", () => {
        expect(validateAddress("192.0.2.10")).toBe("192.0.2.10");
        expect(validateAddress("2001:db8::1")).toBe("2001:db8::1");
        expect(validateAddress("::1")).toBe("::1");
        expect(validateAddress("::ffff:0:c000:20a")).toBe("::ffff:0:c000:20a"); // IPv4-translated (RFC 2765), not mapped
        for (const image of [
            "registry:2.8.3",
            "registry:3.0.0",
            "docker.io/library/registry:3",
            "localhost:5000/team/registry@sha256:" + "a".repeat(64),
        ]) {
            expect(settingsFromArgs("r", { image }).image).toBe(image);
        }
        expect(
            settingsFromArgs("r", {
                replicas: 2,
                storage: { type: "persistentVolumeClaim", accessMode: "ReadWriteMany" },
            }).replicas,
        ).toBe(2);
    });

    test("the major version of Distribution comes from the image's tag, or from imageMajorVersion where the tag does not say", () => {
        const versions = Object.fromEntries(
            [
                "registry:2.8.3",
                "registry:2",
                "docker.io/library/registry:3",
                "localhost/distribution/registry:3.1.2",
                "localhost:5000/registry:3.0.0-rc.1@sha256:" + "a".repeat(64),
                "registry:latest",
                "registry",
                "registry@sha256:" + "a".repeat(64),
                "localhost:5000/registry",
                "registry:20.1",
            ].map(image => [image, settingsFromArgs("r", { image }).imageMajorVersion]),
        );
        expect(versions).toEqual({
            "registry:2.8.3": 2,
            "registry:2": 2,
            "docker.io/library/registry:3": 3,
            "localhost/distribution/registry:3.1.2": 3,
            ["localhost:5000/registry:3.0.0-rc.1@sha256:" + "a".repeat(64)]: 3,
            "registry:latest": undefined,
            registry: undefined,
            ["registry@sha256:" + "a".repeat(64)]: undefined,
            "localhost:5000/registry": undefined,
            "registry:20.1": undefined,
        });
        expect(settingsFromArgs("r", { image: "registry:latest", imageMajorVersion: 3 }).imageMajorVersion).toBe(3);
        expect(() => settingsFromArgs("r", { imageMajorVersion: 4 })).toThrow(
            /^imageMajorVersion: 4 is not 2 or 3\. Give the major version/,
        );
    });

    test("a password may contain anything on one line; a line break cannot travel on --password-stdin", () => {
        const password = "p@ss: w\"o'r$d`\t;|&<>\u00e9";
        expect(usersFromArgs([{ username: "admin", password }])[0].password).toBe(password);
        for (const broken of ["pass\nword", "password\n", "pass\r\nword", "pass\rword"]) {
            expect(() => usersFromArgs([{ username: "admin", password: broken }])).toThrow(
                /^password: contains a line break, which `docker login --password-stdin` cannot carry\. Choose a password on one line/,
            );
        }
    });

    test("images default to nginx for linux/amd64 and take repository and tag from the source", () => {
        expect(resolveImages(defaults.workstation.push.images, defaults.workstation.push)).toEqual([
            { source: "nginx", repository: "nginx", tag: "latest", platform: "linux/amd64" },
        ]);
        expect(resolveImages([{ source: "docker.io/library/nginx:1.27" }], push)[0]).toMatchObject({
            repository: "nginx",
            tag: "1.27",
        });
        expect(resolveImages([{ source: "oci:/tmp/x:v1", repository: "hello" }], push)[0]).toMatchObject({
            repository: "hello",
            tag: "latest",
        });
    });
});
