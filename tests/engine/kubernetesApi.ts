import * as fs from "fs";
import * as https from "https";

/** A minimal client of the local API server, authenticated with the admin client certificate of its kubeconfig. */
export interface KubernetesApi {
    request(method: string, path: string, body?: unknown, contentType?: string): Promise<{ status: number; body: any }>;
    /** POSTs `object` to `collection`; throws with the server's answer unless it was created (201). */
    create(collection: string, object: unknown): Promise<void>;
}

export function kubernetesApi(kubeconfigFile: string): KubernetesApi {
    const text = fs.readFileSync(kubeconfigFile, "utf8");
    const field = (name: string) => {
        const m = text.match(new RegExp(`${name}:\\s*(\\S+)`));
        if (!m) {
            throw new Error(`${kubeconfigFile} has no ${name}`);
        }
        return m[1];
    };
    const decode = (name: string) => Buffer.from(field(name), "base64");
    const server = new URL(field("server"));
    const agent = new https.Agent({
        ca: decode("certificate-authority-data"),
        cert: decode("client-certificate-data"),
        key: decode("client-key-data"),
        keepAlive: true,
    });
    const api: KubernetesApi = {
        async create(collection, object) {
            const created = await api.request("POST", collection, object);
            if (created.status !== 201) {
                throw new Error(`POST ${collection}: ${created.status} ${JSON.stringify(created.body)}`);
            }
        },
        request(method, path, body, contentType = "application/json") {
            return new Promise((resolve, reject) => {
                const req = https.request(
                    {
                        host: server.hostname,
                        port: server.port,
                        path,
                        method,
                        agent,
                        headers: body === undefined ? {} : { "Content-Type": contentType },
                    },
                    res => {
                        let data = "";
                        res.on("data", d => {
                            data += d;
                        });
                        res.on("end", () => {
                            let parsed: unknown = data;
                            try {
                                parsed = JSON.parse(data);
                            } catch (_) {
                                /* not JSON */
                            }
                            resolve({ status: res.statusCode ?? 0, body: parsed });
                        });
                    },
                );
                req.on("error", reject);
                req.end(body === undefined ? undefined : JSON.stringify(body));
            });
        },
    };
    return api;
}
