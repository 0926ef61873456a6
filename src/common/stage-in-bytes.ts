// Stage-in bytes of one attempt by where they came from, read from its
// provenance record (the agent's, so untrusted): each input's `source` is
// "cache" or the RSE it was read from; an RSE of the agent's own site is
// own_site, any other (or one the coordinator does not know) other_site.

export const StageSources = ["cache", "own_site", "other_site"] as const;
export type StageSource = (typeof StageSources)[number];

/** Inputs counted at most per attempt (a record naming more is cut there). */
const MAX_INPUTS = 100_000;
/** Bytes of one input counted at most (1 PiB): a forged figure cannot swamp the sums. */
const MAX_INPUT_BYTES = 2 ** 50;

/**
 * Bytes by source. `siteOfRse` gives an RSE's site (undefined when unknown),
 * `site` is the attempt's. A record that is not JSON, or has no inputs, gives
 * nothing.
 */
export function stageInBytes(provenanceJson: string, site: string, siteOfRse: (rse: string) => string | undefined): Record<StageSource, number> {
  const out: Record<StageSource, number> = { cache: 0, own_site: 0, other_site: 0 };
  if (provenanceJson === "") return out;
  let inputs: unknown;
  try {
    inputs = (JSON.parse(provenanceJson) as { inputs?: unknown } | null)?.inputs;
  } catch {
    return out;
  }
  if (!Array.isArray(inputs)) return out;
  for (const input of inputs.slice(0, MAX_INPUTS) as unknown[]) {
    if (input === null || typeof input !== "object") continue;
    const { source, bytes } = input as { source?: unknown; bytes?: unknown };
    if (typeof source !== "string" || typeof bytes !== "number" || !Number.isFinite(bytes) || bytes <= 0) continue;
    const n = Math.min(bytes, MAX_INPUT_BYTES);
    if (source === "cache") out.cache += n;
    else if (site !== "" && siteOfRse(source) === site) out.own_site += n;
    else out.other_site += n;
  }
  return out;
}
