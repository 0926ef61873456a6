// Where a rule's copies go: pure choice over candidate RSEs, as Rucio's rule
// evaluation does it. RSEs that hold the data already come first (Rucio
// prefers existing replicas to save transfers); the rest are drawn at random,
// weighted by the rule's weight attribute when it has one.

export interface Candidate {
  name: string;
  /** Relative chance of being drawn (> 0). */
  weight: number;
}

/** One file as placement sees it: its size and which RSEs hold it, in what state. */
export interface PlacementFile {
  did: string;
  bytes: number;
  /** RSE → replica state, for every replica of the file. */
  replicas: ReadonlyMap<string, string>;
  /** RSEs this rule locks the file at already (re-evaluation, attach). */
  locked: ReadonlySet<string>;
}

export type Random = () => number;

/** How much of a group an RSE holds already: AVAILABLE bytes count fully, COPYING ones half. */
function coverage(files: readonly PlacementFile[], rse: string): number {
  let score = 0;
  for (const f of files) {
    if (f.locked.has(rse)) score += 4 * (f.bytes + 1);
    const state = f.replicas.get(rse);
    if (state === "AVAILABLE") score += 2 * (f.bytes + 1);
    else if (state === "COPYING") score += f.bytes + 1;
  }
  return score;
}

/**
 * Orders candidates by what they hold of `files` (most first), then by a
 * weighted random draw (Efraimidis–Spirakis keys), and returns the first `copies`.
 */
export function chooseRses(files: readonly PlacementFile[], candidates: readonly Candidate[], copies: number, random: Random = Math.random): string[] {
  const ranked = candidates.map((c) => ({ name: c.name, held: coverage(files, c.name), key: Math.pow(random(), 1 / c.weight) }));
  ranked.sort((a, b) => b.held - a.held || b.key - a.key);
  return ranked.slice(0, copies).map((r) => r.name);
}

/** The locks a group needs: every file at every chosen RSE it is not locked at yet. */
export function missingLocks<F extends PlacementFile>(files: readonly F[], rses: readonly string[]): { file: F; rse: string }[] {
  const out: { file: F; rse: string }[] = [];
  for (const file of files) for (const rse of rses) if (!file.locked.has(rse)) out.push({ file, rse });
  return out;
}

/**
 * Candidates of a rule: the RSEs its expression selects, each with its weight.
 * Rucio leaves out RSEs whose weight attribute is missing or not a positive number.
 */
export function weighted<R extends { name: string; attributes: Record<string, string> }>(rses: readonly R[], weightAttribute: string): Candidate[] {
  if (weightAttribute === "") return rses.map((r) => ({ name: r.name, weight: 1 }));
  const out: Candidate[] = [];
  for (const r of rses) {
    const w = Number(r.attributes[weightAttribute]);
    if (Number.isFinite(w) && w > 0) out.push({ name: r.name, weight: w });
  }
  return out;
}
