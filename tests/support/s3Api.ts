import * as crypto from "crypto";
import * as http from "http";

/** Where and as whom S3 requests go. */
export interface S3Credentials {
    /** http://127.0.0.1:<port> (loopback only: the signer refuses other hosts). */
    endpoint: string;
    region: string;
    accessKey: string;
    secretKey: string;
}

export interface S3Request {
    method: string;
    /** Path-style: /<bucket>/<key>, not yet URI-encoded. */
    path: string;
    query?: Record<string, string>;
    body?: Buffer;
}

export interface S3Response {
    status: number;
    headers: http.IncomingHttpHeaders;
    body: Buffer;
}

/** RFC 3986 encoding as Signature Version 4 wants it (encodeURIComponent leaves !'()* alone). */
function uriEncode(s: string): string {
    return encodeURIComponent(s).replace(/[!'()*]/g, c => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

const sha256 = (data: Buffer | string) => crypto.createHash("sha256").update(data).digest("hex");
const hmac = (key: Buffer | string, data: string) => crypto.createHmac("sha256", key).update(data).digest();

/**
 * Headers that sign a request with AWS Signature Version 4 (the scheme S3 servers and Distribution's S3 driver
 * use), for a path-style request to `host`. Exported so a test can check it against AWS's documented example.
 */
export function signV4(
    credentials: Omit<S3Credentials, "endpoint">,
    request: S3Request,
    host: string,
    now: Date,
): Record<string, string> {
    const amzDate = now
        .toISOString()
        .replace(/[-:]/g, "")
        .replace(/\.\d{3}/, "");
    const day = amzDate.slice(0, 8);
    const payloadHash = sha256(request.body ?? Buffer.alloc(0));
    const headers: Record<string, string> = {
        host,
        "x-amz-content-sha256": payloadHash,
        "x-amz-date": amzDate,
    };
    const signedHeaders = Object.keys(headers).sort();
    const canonicalPath = request.path.split("/").map(uriEncode).join("/");
    const canonicalQuery = Object.entries(request.query ?? {})
        .map(([k, v]) => [uriEncode(k), uriEncode(v)])
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, v]) => `${k}=${v}`)
        .join("&");
    const canonicalRequest = [
        request.method,
        canonicalPath,
        canonicalQuery,
        signedHeaders.map(h => `${h}:${headers[h]}\n`).join(""),
        signedHeaders.join(";"),
        payloadHash,
    ].join("\n");
    const scope = `${day}/${credentials.region}/s3/aws4_request`;
    const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256(canonicalRequest)].join("\n");
    let key: Buffer = hmac(`AWS4${credentials.secretKey}`, day);
    for (const part of [credentials.region, "s3", "aws4_request"]) {
        key = hmac(key, part);
    }
    const signature = crypto.createHmac("sha256", key).update(stringToSign).digest("hex");
    return {
        ...headers,
        authorization:
            `AWS4-HMAC-SHA256 Credential=${credentials.accessKey}/${scope}, ` +
            `SignedHeaders=${signedHeaders.join(";")}, Signature=${signature}`,
    };
}

/**
 * Sends one signed S3 request to a loopback endpoint, or to a pod of the test cluster (10.244.0.0/24, on this
 * machine's cni0 bridge: tests/engine/start-cluster.sh).
 */
export function s3Request(credentials: S3Credentials, request: S3Request): Promise<S3Response> {
    const url = new URL(credentials.endpoint);
    if (url.protocol !== "http:" || !/^(127\.\d+\.\d+|10\.244\.0)\.\d+$/.test(url.hostname)) {
        return Promise.reject(
            new Error(
                `s3Request: only http://127.x.x.x and test pod (10.244.0.x) endpoints are used in tests, not ${url}`,
            ),
        );
    }
    const headers = signV4(credentials, request, url.host, new Date());
    const query = new URLSearchParams(request.query ?? {}).toString();
    const path = request.path.split("/").map(uriEncode).join("/") + (query ? `?${query}` : "");
    return new Promise((resolve, reject) => {
        const req = http.request(
            { host: url.hostname, port: url.port, method: request.method, path, headers, timeout: 10000 },
            res => {
                const chunks: Buffer[] = [];
                res.on("data", d => chunks.push(d));
                res.on("end", () =>
                    resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
                );
            },
        );
        req.on("error", reject);
        req.on("timeout", () => req.destroy(new Error(`S3 ${request.method} ${path} timed out`)));
        req.end(request.body);
    });
}

/** Every key in a bucket under a prefix (ListObjectsV2, following continuation tokens). */
export async function listKeys(credentials: S3Credentials, bucket: string, prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
        const query: Record<string, string> = { "list-type": "2", prefix };
        if (token) {
            query["continuation-token"] = token;
        }
        const res = await s3Request(credentials, { method: "GET", path: `/${bucket}`, query });
        if (res.status !== 200) {
            throw new Error(`ListObjectsV2 ${bucket}/${prefix}: ${res.status} ${res.body}`);
        }
        const xml = res.body.toString("utf8");
        for (const m of xml.matchAll(/<Key>([^<]*)<\/Key>/g)) {
            keys.push(unescapeXml(m[1]));
        }
        token = /<IsTruncated>true<\/IsTruncated>/.test(xml)
            ? unescapeXml(/<NextContinuationToken>([^<]*)<\/NextContinuationToken>/.exec(xml)?.[1] ?? "")
            : undefined;
    } while (token);
    return keys;
}

function unescapeXml(s: string): string {
    return s
        .replace(/&lt;/g, "<")
        .replace(/&gt;/g, ">")
        .replace(/&quot;/g, '"')
        .replace(/&apos;/g, "'")
        .replace(/&amp;/g, "&");
}
