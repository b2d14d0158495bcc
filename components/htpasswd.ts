import * as crypto from "crypto";
import * as bcrypt from "bcryptjs";

/** One account of the htpasswd file, as plain values. */
export interface HtpasswdUser {
    username: string;
    password: string;
}

/**
 * The bcrypt salt of one account: derived from a random key kept in Pulumi state, the username and the
 * password. A random salt per run would change the hash, the Secret and the pods on every `pulumi up`;
 * this one changes only when the password (or the key) does.
 */
export function bcryptSalt(saltKey: string, user: HtpasswdUser, cost: number): string {
    const digest = crypto
        .createHmac("sha256", saltKey)
        .update(user.username)
        .update("\0")
        .update(user.password)
        .digest();
    const salt22 = bcrypt.encodeBase64(digest.subarray(0, 16), 16);
    // $2y$ is what Apache's `htpasswd -B` writes; the registry (Go's bcrypt) accepts $2a$, $2b$ and $2y$.
    return `$2y$${String(cost).padStart(2, "0")}$${salt22}`;
}

/** The htpasswd line `user:$2y$..` of one account. */
export function htpasswdLine(user: HtpasswdUser, saltKey: string, cost: number): string {
    return `${user.username}:${bcrypt.hashSync(user.password, bcryptSalt(saltKey, user, cost))}`;
}

/** The whole htpasswd file, one line an account, in the order given. */
export function renderHtpasswd(users: HtpasswdUser[], saltKey: string, cost: number): string {
    return users.map(u => htpasswdLine(u, saltKey, cost) + "\n").join("");
}
