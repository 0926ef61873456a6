// Rucio's rules for collections as pure checks over what the catalog read:
// the Redis code (collections.ts, replica-registrar.ts) reads, asks these,
// then writes. Each refusal names the rule broken and what to do instead.
import { ErrorCode, OrreryError } from "../../common/errors.js";
import { parseDid, type Did } from "../../common/did.js";
import { DidType, checkDidName, checkScope } from "./keys.js";

/** A DID as the catalog holds it; `type` undefined: not in the catalog. */
export interface DidView {
  did: string;
  type: DidType | undefined;
  open: boolean;
}

/** A collection that exists (or is about to be made). */
export interface ParentView {
  did: string;
  type: DidType;
  open: boolean;
}

function invalid(message: string, hint?: string): OrreryError {
  return new OrreryError(ErrorCode.INVALID_ARGUMENT, message, hint === undefined ? {} : { hint });
}

/** `scope:name` checked against the catalog's name rules. */
export function parseCatalogDid(text: string, what = "DID"): Did & { did: string } {
  const did = parseDid(text);
  checkScope(did.scope, `scope of ${what} ${text}`);
  checkDidName(did.name, `name of ${what} ${text}`);
  return { ...did, did: text };
}

export function didTypeOf(type: string | null | undefined): DidType | undefined {
  return type === DidType.FILE || type === DidType.DATASET || type === DidType.CONTAINER ? type : undefined;
}

/** Collections made before the flag existed have no `open` field: they are open, as Rucio makes every collection. */
export function isOpen(type: DidType | undefined, open: string | null | undefined): boolean {
  return type !== undefined && type !== DidType.FILE && open !== "0";
}

export function notInCatalog(did: string): OrreryError {
  return new OrreryError(ErrorCode.NOT_FOUND, `${did} is not in the catalog`, {
    hint: "check the scope and name; files are registered by `orrery dbb ingest`, datasets by `ingest --dataset` or `attach`",
  });
}

/**
 * The type an absent parent is made with. Rucio wants the collection made
 * first (add-dataset / add-container); the contract has no such command, so
 * `attach` makes it as `ingest --dataset` does, typed by what it will hold.
 */
export function parentTypeFor(parent: string, children: readonly DidView[]): DidType {
  const files = children.filter((c) => c.type === DidType.FILE).length;
  if (files === children.length) return DidType.DATASET;
  if (files === 0) return DidType.CONTAINER;
  throw invalid(`${parent} does not exist and would hold files and collections: a DATASET holds only files, a CONTAINER only datasets and containers`, `attach the files to ${parent} and the collections to a CONTAINER, in two commands`);
}

/** Whether `child` may be attached to `parent` under Rucio's rules; throws the rule it breaks. */
export function checkAttachable(parent: ParentView, child: DidView): void {
  if (child.type === undefined) throw notInCatalog(child.did);
  // Rucio: UnsupportedOperation "Self-append is not valid".
  if (child.did === parent.did) throw invalid(`${parent.did} cannot be attached to itself`);
  if (parent.type === DidType.FILE) {
    throw invalid(`${parent.did} is a FILE: nothing can be attached to a file`, "attach files to a DATASET, datasets and containers to a CONTAINER");
  }
  // Rucio: UnsupportedOperation "Data identifier … is closed".
  if (!parent.open) {
    throw invalid(`${parent.did} is a closed ${parent.type}: nothing can be attached to or detached from a closed collection`, "attach to an open collection (a closed one stays closed)");
  }
  // Rucio: files go into datasets (__add_files_to_dataset), collections into containers (__add_collections_to_container).
  if (parent.type === DidType.DATASET && child.type !== DidType.FILE) {
    throw invalid(`${child.did} is a ${child.type}: only files can be attached to a DATASET (${parent.did})`, "attach datasets and containers to a CONTAINER");
  }
  if (parent.type === DidType.CONTAINER && child.type === DidType.FILE) {
    throw invalid(`${child.did} is a FILE: files cannot be attached to a CONTAINER (${parent.did}); attach files to a DATASET`, `attach ${child.did} to a DATASET, and that dataset to ${parent.did}`);
  }
}

/** Rucio refuses a circular attachment: `child` may not already hold `parent` through any path. */
export function checkNoCycle(parent: string, child: string, ancestorsOfParent: ReadonlySet<string>): void {
  if (ancestorsOfParent.has(child)) {
    throw invalid(`attaching ${child} to ${parent} would make a cycle: ${child} already contains ${parent}`, `detach ${parent} from below ${child} first, or attach to another container`);
  }
}

/** Whether `child` may be detached from `parent` (Rucio: the parent exists and holds it; here also: it is open). */
export function checkDetachable(parent: DidView, child: string, attached: boolean): void {
  if (parent.type === undefined) throw notInCatalog(parent.did);
  if (parent.type === DidType.FILE) throw invalid(`${parent.did} is a FILE: nothing is attached to a file`);
  if (!parent.open) {
    throw invalid(`${parent.did} is a closed ${parent.type}: nothing can be attached to or detached from a closed collection`, "a closed collection keeps its contents");
  }
  // Rucio: DataIdentifierNotFound when the child is not attached to the parent.
  if (!attached) throw new OrreryError(ErrorCode.NOT_FOUND, `${child} is not attached to ${parent.did}`, { hint: `see what is: orrery dbb contents ${parent.did}` });
}
