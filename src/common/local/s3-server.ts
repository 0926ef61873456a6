// A site's S3 endpoint for the local cluster: s3rver through its programmatic
// API, closed with the site's own key pair. s3rver alone accepts any request
// signed with SigV4 as long as the key id exists (and its dummy key S3RVER
// always does); here the dummy key is revoked, the site's key registered, and
// every request's signature recomputed and compared before s3rver sees it.
// The key comes by environment (ORRERY_S3_SERVER_KEY, JSON), never argv.
//   node s3-server.js --directory D --address A --port P [--bucket B]...
import { createRequire } from "node:module";
import { parseArgs } from "node:util";
import { checkSignature, type S3KeyPair } from "../s3-signature.js";

interface KoaContext {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
}
type Middleware = (ctx: KoaContext, next: () => Promise<unknown>) => Promise<unknown>;
interface S3rverApp {
  middleware: Middleware[];
  run(): Promise<unknown>;
  close(): Promise<unknown>;
}
interface AccountModule {
  DUMMY_ACCOUNT: { createKeyPair(id: string, secret: string): void; revokeAccessKey(id: string): void };
}
type S3ErrorCtor = new (code: string, message: string, detail?: Record<string, string>) => Error;

const require = createRequire(import.meta.url);
const S3rver = require("s3rver") as new (opts: Record<string, unknown>) => S3rverApp;
// The same module instances s3rver itself loaded (one registry of keys).
const account = require("s3rver/lib/models/account") as AccountModule;
const S3Error = require("s3rver/lib/models/error") as S3ErrorCtor;

const { values } = parseArgs({
  options: { directory: { type: "string" }, address: { type: "string" }, port: { type: "string" }, bucket: { type: "string", multiple: true } },
});

function siteKey(): S3KeyPair | undefined {
  const raw = process.env["ORRERY_S3_SERVER_KEY"];
  if (raw === undefined || raw === "") return undefined;
  const key = JSON.parse(raw) as Partial<S3KeyPair>;
  if (typeof key.accessKeyId !== "string" || typeof key.secretAccessKey !== "string") throw new Error("ORRERY_S3_SERVER_KEY must be {accessKeyId, secretAccessKey}");
  return { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey };
}

const app = new S3rver({
  directory: values.directory,
  address: values.address ?? "127.0.0.1",
  port: Number(values.port),
  silent: true,
  configureBuckets: (values.bucket ?? []).map((name) => ({ name })),
});

const key = siteKey();
if (key !== undefined) {
  account.DUMMY_ACCOUNT.revokeAccessKey("S3RVER");
  account.DUMMY_ACCOUNT.createKeyPair(key.accessKeyId, key.secretAccessKey);
  const keys = new Map([[key.accessKeyId, key.secretAccessKey]]);
  // First in the chain: nothing unsigned or wrongly signed reaches s3rver's routes.
  app.middleware.unshift(async (ctx, next) => {
    const check = await checkSignature({ method: ctx.method, url: ctx.url, headers: ctx.headers }, keys);
    if (!check.ok) throw new S3Error(check.code, check.message, check.accessKeyId === undefined ? {} : { AWSAccessKeyId: check.accessKeyId });
    return next();
  });
}

await app.run();
const stop = () => {
  app.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
