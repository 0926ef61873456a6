// Endpoint replica.url: a presigned GET of one AVAILABLE replica. An agent holds
// the S3 key of its own site only; to read an input held at another site it asks
// the dbb, which holds every site's key, for a URL valid a short while — the
// way Rucio hands out signed URLs instead of storage credentials.
import { parseDid } from "../../common/did.js";
import { ErrorCode, OrreryError } from "../../common/errors.js";
import { objectKey, s3KeyFor } from "../../common/s3.js";
import { presignGet } from "../../common/s3-signature.js";
import type { Catalog } from "../catalog/catalog.js";

/** How long a URL is good for: enough to start reading, short enough to be of little use if it leaks. */
export const REPLICA_URL_SECONDS = 900;

export async function replicaUrl(catalog: Pick<Catalog, "replicas" | "listRses">, req: { did: string; rse: string }): Promise<{ url: string; expiresSeconds: number }> {
  const { scope, name } = parseDid(req.did);
  const { replicas } = await catalog.replicas(req.did);
  const replica = replicas.find((r) => r.did === req.did && r.rse === req.rse);
  if (replica?.state !== "AVAILABLE") {
    throw new OrreryError(ErrorCode.NOT_FOUND, `${req.did} has no AVAILABLE replica at ${req.rse}`, { hint: `see its replicas with: orrery dbb replicas ${req.did}` });
  }
  const rse = (await catalog.listRses()).find((r) => r.name === req.rse);
  if (rse === undefined) throw new OrreryError(ErrorCode.NOT_FOUND, `no RSE ${req.rse}`);
  const key = s3KeyFor(rse.endpoint);
  if (key === undefined) {
    throw new OrreryError(ErrorCode.UNAVAILABLE, `the dbb has no S3 key for ${rse.endpoint} (RSE ${rse.name})`, { hint: "give the dbb every site's key in $ORRERY_S3_KEYS" });
  }
  const path = replica.path !== "" ? replica.path : objectKey(rse, scope, name);
  return { url: await presignGet(rse.endpoint, rse.bucket, path, key, REPLICA_URL_SECONDS), expiresSeconds: REPLICA_URL_SECONDS };
}
