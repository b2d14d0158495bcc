import { signV4 } from "../support/s3Api";

// The test support's SigV4 signer against the worked examples of AWS's S3 documentation ("Signature Calculations
// for the Authorization Header: Transferring Payload in a Single Chunk"), which publishes these keys for the purpose.
const credentials = {
    region: "us-east-1",
    accessKey: "AKIAIOSFODNN7EXAMPLE",
    secretKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
};
const host = "examplebucket.s3.amazonaws.com";
const when = new Date(Date.UTC(2013, 4, 24));

describe("the tests' S3 request signer (AWS Signature Version 4)", () => {
    it("signs GET Bucket Lifecycle as AWS's example does", () => {
        const headers = signV4(credentials, { method: "GET", path: "/", query: { lifecycle: "" } }, host, when);
        expect(headers["x-amz-date"]).toBe("20130524T000000Z");
        expect(headers.authorization).toBe(
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, " +
                "SignedHeaders=host;x-amz-content-sha256;x-amz-date, " +
                "Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
        );
    });

    it("signs a listing with sorted query parameters as AWS's example does", () => {
        const headers = signV4(
            credentials,
            { method: "GET", path: "/", query: { prefix: "J", "max-keys": "2" } },
            host,
            when,
        );
        expect(headers.authorization).toMatch(
            /Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7$/,
        );
    });

    it("signs the payload: another body, another signature", () => {
        const put = (body: string) =>
            signV4(credentials, { method: "PUT", path: "/b/k", body: Buffer.from(body) }, host, when).authorization;
        expect(put("a")).not.toBe(put("b"));
    });
});
