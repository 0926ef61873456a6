// The local cluster's TLS: a CA of its own and a coordinator certificate it
// signs, made by openssl (never hand-rolled X.509), and the role tokens.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { ErrorCode, OrreryError } from "../errors.js";

const run = promisify(execFile);

export interface ClusterTls {
  /** PEM of the CA every client trusts. */
  ca: string;
  /** The coordinator's certificate (SAN IP:127.0.0.1, DNS:localhost) and its key. */
  cert: string;
  key: string;
}

/** DIR/tls: where a cluster's CA and server certificates live. */
export function tlsDir(clusterDir: string): string {
  return join(clusterDir, "tls");
}

/** The CA's PEM file, which gRPC clients trust. */
export function caFile(clusterDir: string): string {
  return join(tlsDir(clusterDir), "ca.pem");
}

/** The coordinator's certificate and key files of a cluster made by makeClusterTls. */
export function coordinatorTlsFiles(clusterDir: string): { cert: string; key: string } {
  return { cert: join(tlsDir(clusterDir), "coordinator.pem"), key: join(tlsDir(clusterDir), "coordinator-key.pem") };
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run("openssl", args, { timeout: 30_000 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === "ENOENT") {
      throw new OrreryError(ErrorCode.MISSING_BINARY, "openssl is not installed: the local cluster needs it to make its TLS certificates", {
        hint: "install it (apt-get install openssl, or npm run setup), or start an open cluster with `orrery local up --insecure`",
      });
    }
    throw new OrreryError(ErrorCode.INTERNAL, `openssl ${args[0] ?? ""} failed: ${(e.stderr ?? e.message).trim()}`, { cause: err });
  }
}

const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
const DAYS = "3650";

/** A fresh CA and coordinator certificate under DIR/tls (replacing any there); keys are mode 0600. */
export async function makeClusterTls(clusterDir: string): Promise<ClusterTls> {
  const dir = tlsDir(clusterDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const ca = caFile(clusterDir);
  const caKey = join(dir, "ca-key.pem");
  const { cert, key } = coordinatorTlsFiles(clusterDir);
  const csr = join(dir, "coordinator.csr");
  const ext = join(dir, "coordinator.ext");
  for (const f of [ca, caKey, cert, key]) rmSync(f, { force: true });
  await openssl([
    "req", "-x509", ...EC_KEY, "-keyout", caKey, "-out", ca, "-days", DAYS, "-subj", "/CN=Orrery local cluster CA",
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  await openssl(["req", ...EC_KEY, "-keyout", key, "-out", csr, "-subj", "/CN=orrery-coordinator"]);
  writeFileSync(ext, "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n");
  await openssl(["x509", "-req", "-in", csr, "-CA", ca, "-CAkey", caKey, "-set_serial", `0x${randomBytes(16).toString("hex")}`, "-days", DAYS, "-extfile", ext, "-out", cert]);
  rmSync(csr, { force: true });
  rmSync(ext, { force: true });
  for (const f of [caKey, key]) chmodSync(f, 0o600);
  return { ca, cert, key };
}

/** A random bearer token (256 bits, URL-safe). */
export function newToken(): string {
  return randomBytes(32).toString("base64url");
}
