// A replica registration as the catalog accepts it: parsed and checked once at
// the edge (API request or JetStream message), typed from then on.
import type { ReplicaRegistration } from "../../gen/orrery/v1/dbb_pb.js";
import { ErrorCode, OrreryError } from "../../common/errors.js";
import { dataIdKey, type DataId } from "../../common/data-id.js";
import { parseDid, type Did } from "../../common/did.js";
import { objectKey } from "../../common/s3.js";
import { checkDatasetType, checkDidName, checkRseName, checkScope, checkSite } from "./keys.js";

export interface FileAttributes {
  scope: string;
  name: string;
  datasetType: string;
  dataId: string; // canonical JSON object
  metadata: string; // JSON object
  bytes: bigint;
  adler32: string;
  md5: string;
  validFrom: string;
  validTo: string;
}

export interface ValidRegistration {
  file: FileAttributes;
  rse: string;
  /** Object key in the RSE's bucket; empty means the default key objectKey(rse, scope, name). */
  path: string;
  /** The DATASET the file joins (made if absent). */
  collection: Did | undefined;
  /** The CONTAINER the dataset joins (made if absent); only with a collection. */
  container: Did | undefined;
  originSite: string;
  producedBy: string;
}

function invalid(message: string, hint?: string): OrreryError {
  return new OrreryError(ErrorCode.INVALID_ARGUMENT, message, hint === undefined ? {} : { hint });
}

function jsonObject(text: string, field: string): Record<string, unknown> {
  if (text === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalid(`${field} is not JSON: give a JSON object`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw invalid(`${field} is not a JSON object: give a JSON object`);
  return value as Record<string, unknown>;
}

function isoTime(text: string, field: string): string {
  if (text === "") return "";
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw invalid(`${field} "${text}" is not a time: give an ISO 8601 time such as 2026-03-01T00:00:00Z`);
  return new Date(t).toISOString();
}

/** Checks a registration and puts it in canonical form (lower-case hex, canonical data id JSON). */
export function validateRegistration(reg: ReplicaRegistration): ValidRegistration {
  const f = reg.file;
  if (!f) throw invalid("registration has no file: give the file's scope, name, size and checksums");
  const did = `${f.scope}:${f.name}`;
  checkScope(f.scope, "file.scope");
  checkDidName(f.name, "file.name");
  checkDatasetType(f.datasetType, `file.datasetType of ${did}`);
  checkRseName(reg.rse, `rse of ${did}`);
  if (reg.originSite !== "") checkSite(reg.originSite, `originSite of ${did}`);
  if (f.bytes < 0n) throw invalid(`file.bytes of ${did} is negative: give the file's size in bytes`);
  const adler32 = f.adler32.toLowerCase();
  const md5 = f.md5.toLowerCase();
  if (!/^[0-9a-f]{8}$/.test(adler32)) throw invalid(`file.adler32 of ${did} "${f.adler32}" is not 8 hex digits`);
  if (!/^[0-9a-f]{32}$/.test(md5)) throw invalid(`file.md5 of ${did} "${f.md5}" is not 32 hex digits`);
  const dataId = jsonObject(f.dataId, `file.dataId of ${did}`);
  for (const [k, v] of Object.entries(dataId)) {
    if (typeof v !== "string" && typeof v !== "number") throw invalid(`file.dataId.${k} of ${did} is not a string or number`);
  }
  const metadata = jsonObject(f.metadata, `file.metadata of ${did}`);
  let collection: Did | undefined;
  if (reg.collection !== "") {
    collection = parseDid(reg.collection);
    checkScope(collection.scope, "collection scope");
    checkDidName(collection.name, "collection name");
    if (collection.scope === f.scope && collection.name === f.name) throw invalid(`collection of ${did} is the file itself: give a DATASET DID`);
  }
  let container: Did | undefined;
  if (reg.container !== "") {
    if (!collection) throw invalid(`container of ${did} is given without a collection: files attach to a DATASET, which attaches to the CONTAINER`);
    container = parseDid(reg.container);
    checkScope(container.scope, "container scope");
    checkDidName(container.name, "container name");
    if (reg.container === reg.collection || reg.container === did) throw invalid(`container ${reg.container} of ${did} is also its ${reg.container === did ? "file" : "collection"}: give a CONTAINER DID of its own`);
  }
  return {
    file: {
      scope: f.scope,
      name: f.name,
      datasetType: f.datasetType,
      dataId: dataIdKey(dataId as DataId),
      metadata: JSON.stringify(metadata),
      bytes: f.bytes,
      adler32,
      md5,
      validFrom: isoTime(f.validFrom, `file.validFrom of ${did}`),
      validTo: isoTime(f.validTo, `file.validTo of ${did}`),
    },
    rse: reg.rse,
    path: reg.path.replace(/^\/+/, ""),
    collection,
    container,
    originSite: reg.originSite,
    producedBy: reg.producedBy,
  };
}

/** The object key a replica is stored under when the registration gives none. */
export function replicaPath(reg: ValidRegistration, rsePrefix: string): string {
  return reg.path !== "" ? reg.path : objectKey({ prefix: rsePrefix }, reg.file.scope, reg.file.name);
}

export function sameContent(a: { bytes: bigint; adler32: string; md5: string }, b: { bytes: bigint; adler32: string; md5: string }): boolean {
  return a.bytes === b.bytes && a.adler32 === b.adler32 && a.md5 === b.md5;
}
