import * as childProcess from "child_process";
import * as fs from "fs";
import * as path from "path";

export interface SelfSignedCertificate {
    certFile: string;
    keyFile: string;
    /** PEM text of the certificate, which is its own CA. */
    certPem: string;
    /** A directory holding the certificate as ca.crt, for skopeo's --dest-cert-dir. */
    certDir: string;
}

/** A self-signed certificate for the hostname and 127.0.0.1, made with openssl. */
export function makeSelfSignedCertificate(dir: string, hostname: string): SelfSignedCertificate {
    fs.mkdirSync(dir, { recursive: true });
    const certFile = path.join(dir, "cert.pem");
    const keyFile = path.join(dir, "key.pem");
    const result = childProcess.spawnSync(
        "openssl",
        [
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-keyout",
            keyFile,
            "-out",
            certFile,
            "-subj",
            `/CN=${hostname}`,
            "-addext",
            `subjectAltName=DNS:${hostname},IP:127.0.0.1`,
            "-addext",
            "basicConstraints=critical,CA:TRUE",
        ],
        { encoding: "utf8" },
    );
    if (result.status !== 0) {
        throw new Error(`openssl failed: ${result.stderr}`);
    }
    const certPem = fs.readFileSync(certFile, "utf8");
    // Docker's and skopeo's certificate directories take CA roots as *.crt.
    fs.writeFileSync(path.join(dir, "ca.crt"), certPem);
    return { certFile, keyFile, certPem, certDir: dir };
}
