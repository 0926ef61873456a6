// What an ingest uploads: entries from a manifest or from files given on the
// command line. Every file is checked to exist before anything is uploaded.
import { readFile, stat } from "node:fs/promises";
import { basename, dirname, resolve } from "node:path";
import { ErrorCode, OrreryError } from "../../common/errors.js";
import type { DataId } from "../../common/data-id.js";
import { checkDatasetType, checkScope } from "../catalog/keys.js";
import { parseManifest, type ManifestEntry } from "./manifest.js";
import { capProblemLines, checkSize } from "../../common/untrusted-text.js";

export interface IngestEntry {
  /** Local file to upload. */
  file: string;
  /** Size found when the entry was checked (for progress). */
  size: number;
  scope: string;
  /** DID name: the manifest path as written, or the file's base name. */
  name: string;
  datasetType: string;
  dataId: DataId;
  metadata: Record<string, unknown>;
  validFrom: string;
  validTo: string;
}

async function fileSize(path: string): Promise<number | string> {
  try {
    const s = await stat(path);
    return s.isFile() ? s.size : "is not a regular file";
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ENOENT" ? "does not exist" : `cannot be read (${(err as Error).message})`;
  }
}

/** How manifest text becomes entries: parseManifest, or the same in a worker (the CLI's). */
export type ManifestParser = (text: string, source: string) => ManifestEntry[] | Promise<ManifestEntry[]>;

/** Reads and checks a manifest; `source` is how messages name it (default: the path as given). */
export async function entriesFromManifest(manifestPath: string, source = manifestPath, parse: ManifestParser = parseManifest): Promise<IngestEntry[]> {
  let text: string;
  try {
    // Checked before reading: a huge file is refused without being held in memory.
    checkSize("manifest", source, (await stat(manifestPath)).size);
    text = await readFile(manifestPath, "utf8");
  } catch (err) {
    if (err instanceof OrreryError) throw err;
    throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `manifest ${source} cannot be read: ${(err as Error).message}`, {
      cause: err,
      hint: "give the path of a JSONL manifest with --manifest",
    });
  }
  const lines = await parse(text, source);
  const folder = dirname(resolve(manifestPath));
  const problems: string[] = [];
  const entries = await Promise.all(
    lines.map(async (l) => {
      const file = resolve(folder, l.path);
      const size = await fileSize(file);
      if (typeof size === "string") problems.push(`${source}:${l.line}: path: ${l.path} ${size}`);
      return { file, size: typeof size === "number" ? size : 0, scope: l.scope, name: l.path, datasetType: l.datasetType, dataId: l.dataId, metadata: l.metadata, validFrom: l.validFrom, validTo: l.validTo };
    }),
  );
  if (problems.length > 0) {
    throw new OrreryError(ErrorCode.SPEC_INVALID, `${source} is refused, nothing was ingested:\n${capProblemLines(problems).shown.join("\n")}`, {
      hint: "paths are relative to the manifest's folder; fix them and run the ingest again",
    });
  }
  return entries;
}

export interface FilesSpec {
  files: readonly string[];
  scope: string;
  datasetType: string;
  dataId: DataId;
  metadata?: Record<string, unknown>;
}

/** Entries for files given directly: each named by its base name. */
export async function entriesFromFiles(spec: FilesSpec): Promise<IngestEntry[]> {
  checkScope(spec.scope, "--scope");
  checkDatasetType(spec.datasetType, "--dataset-type");
  if (spec.files.length === 0) throw new OrreryError(ErrorCode.INVALID_ARGUMENT, "no files to ingest", { hint: "give files, or --manifest FILE.jsonl" });
  const problems: string[] = [];
  const names = new Map<string, string>();
  const entries = await Promise.all(
    spec.files.map(async (f) => {
      const name = basename(f);
      const other = names.get(name);
      if (other !== undefined) problems.push(`${f} and ${other} have the same name ${name}`);
      names.set(name, f);
      const size = await fileSize(f);
      if (typeof size === "string") problems.push(`${f} ${size}`);
      return { file: resolve(f), size: typeof size === "number" ? size : 0, scope: spec.scope, name, datasetType: spec.datasetType, dataId: { ...spec.dataId }, metadata: { ...(spec.metadata ?? {}) }, validFrom: "", validTo: "" };
    }),
  );
  if (problems.length > 0) {
    throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `nothing was ingested:\n${problems.join("\n")}`, { hint: "give existing files with distinct names" });
  }
  return entries;
}
