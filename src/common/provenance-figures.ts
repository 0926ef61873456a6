// The figures of an attempt's provenance record that accounting, metrics and
// the dashboard count: CPU, peak memory, inputs by where they came from, and
// output bytes. The record is the agent's word, so it is untrusted: anything
// malformed, negative or past belief counts as 0, and at most MAX_INPUTS
// inputs are read. One reading for every counter, so they agree.

export const StageSources = ["cache", "own_site", "other_site"] as const;
export type StageSource = (typeof StageSources)[number];

export interface ProvenanceFigures {
  cpuMs: number;
  peakRssBytes: number;
  /** Each input's source ("cache" or the RSE it was read from) and bytes. */
  inputs: { source: string; bytes: number }[];
  /** Bytes of the outputs the record lists. */
  outBytes: number;
}

/** Figures past these are not believed: counted as 0. */
export const MAX_BYTES = 2 ** 50;
const MAX_CPU_SECONDS = 1e8;
const MAX_INPUTS = 100_000;
/** A record longer than this is not read at all. */
const MAX_RECORD_CHARS = 16 * 1024 * 1024;

/** A non-negative whole number up to `max`; anything else (negative, NaN, a string, too large) is 0. */
export function bounded(value: unknown, max: number): number {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 && value <= max ? Math.round(value) : 0;
}

function bytesOf(item: unknown): number {
  return item !== null && typeof item === "object" ? bounded((item as { bytes?: unknown }).bytes, MAX_BYTES) : 0;
}

/** The last record read: the metrics and the dashboard read the same attempt one after the other. */
let last: { json: string; figures: ProvenanceFigures } | undefined;

/** The figures of a provenance record (JSON); "" or a record that is not one gives nothing. Shared: never change what it returns. */
export function provenanceFigures(provenanceJson: string): ProvenanceFigures {
  if (last?.json === provenanceJson) return last.figures;
  const figures = readFigures(provenanceJson);
  last = { json: provenanceJson, figures };
  return figures;
}

function readFigures(provenanceJson: string): ProvenanceFigures {
  const none: ProvenanceFigures = { cpuMs: 0, peakRssBytes: 0, inputs: [], outBytes: 0 };
  if (provenanceJson === "" || provenanceJson.length > MAX_RECORD_CHARS) return none;
  let record: unknown;
  try {
    record = JSON.parse(provenanceJson);
  } catch {
    return none;
  }
  if (record === null || typeof record !== "object" || Array.isArray(record)) return none;
  const r = record as { cpuSeconds?: unknown; peakRssBytes?: unknown; inputs?: unknown; outputs?: unknown };
  const inputs = Array.isArray(r.inputs) ? (r.inputs.slice(0, MAX_INPUTS) as unknown[]) : [];
  const outputs = Array.isArray(r.outputs) ? (r.outputs.slice(0, MAX_INPUTS) as unknown[]) : [];
  return {
    cpuMs: bounded(typeof r.cpuSeconds === "number" ? r.cpuSeconds * 1000 : undefined, MAX_CPU_SECONDS * 1000),
    peakRssBytes: bounded(r.peakRssBytes, MAX_BYTES),
    inputs: inputs.flatMap((i) => {
      const source = i !== null && typeof i === "object" ? (i as { source?: unknown }).source : undefined;
      return typeof source === "string" ? [{ source, bytes: bytesOf(i) }] : [];
    }),
    outBytes: outputs.reduce<number>((sum, o) => sum + bytesOf(o), 0),
  };
}

/** Input bytes by source: the cache, an RSE of the attempt's own site (`ownSite(rse)`), or any other (an RSE nobody places too). */
export function stageInBySource(inputs: ProvenanceFigures["inputs"], ownSite: (rse: string) => boolean): Record<StageSource, number> {
  const out: Record<StageSource, number> = { cache: 0, own_site: 0, other_site: 0 };
  for (const { source, bytes } of inputs) {
    if (source === "cache") out.cache += bytes;
    else if (ownSite(source)) out.own_site += bytes;
    else out.other_site += bytes;
  }
  return out;
}

/** Stage-in bytes of a record by source; `site` is the attempt's, `siteOfRse` places an RSE (undefined when unknown). */
export function stageInBytes(provenanceJson: string, site: string, siteOfRse: (rse: string) => string | undefined): Record<StageSource, number> {
  return stageInBySource(provenanceFigures(provenanceJson).inputs, (rse) => site !== "" && siteOfRse(rse) === site);
}
