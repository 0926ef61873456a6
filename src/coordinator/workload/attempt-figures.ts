// What a campaign's ended attempts cost, by the kind of node that ran them:
// how many there were, how many a node's reclaim (preempted) or loss (lost)
// ended, and the CPU and wall time spent, in all and in attempts so ended.
// A spot fleet's pre-emption rate and lost CPU come from these. Kept on the
// campaign record (a few numbers per kind), so a coordinator restart keeps
// them; the attempts themselves are not read again to rebuild them.

export interface KindFigures {
  attempts: number;
  preempted: number;
  lost: number;
  /** CPU seconds of the attempts' payloads (provenance `cpuSeconds`; 0 where none ran or none is known). */
  cpuSeconds: number;
  wallSeconds: number;
  /** Of attempts that ended preempted or lost: their work is done again elsewhere. */
  lostCpuSeconds: number;
  lostWallSeconds: number;
}

/** Node kind (hpc, spot, static; "unknown" for attempts leased before kinds were recorded) → its figures. */
export type AttemptFigures = Record<string, KindFigures>;

function emptyFigures(): KindFigures {
  return { attempts: 0, preempted: 0, lost: 0, cpuSeconds: 0, wallSeconds: 0, lostCpuSeconds: 0, lostWallSeconds: 0 };
}

/** The payload's CPU seconds an attempt's provenance record gives, 0 when it has none. */
export function cpuSecondsOf(provenanceJson: string): number {
  if (provenanceJson === "") return 0;
  try {
    const cpu = (JSON.parse(provenanceJson) as { cpuSeconds?: unknown }).cpuSeconds;
    return typeof cpu === "number" && Number.isFinite(cpu) && cpu > 0 ? cpu : 0;
  } catch {
    return 0;
  }
}

/**
 * Counts an ended attempt (`sign` -1 takes one back: a lost attempt whose
 * late result came after all). Its times are the attempt record's.
 */
export function countAttempt(figures: AttemptFigures, attempt: { kind?: string | undefined; startMs: number; endMs: number }, outcome: string, cpuSeconds: number, sign: 1 | -1 = 1): void {
  const kind = attempt.kind ?? "unknown";
  const f = (figures[kind] ??= emptyFigures());
  const wall = attempt.startMs > 0 && attempt.endMs > attempt.startMs ? (attempt.endMs - attempt.startMs) / 1000 : 0;
  const killed = outcome === "preempted" || outcome === "lost";
  f.attempts += sign;
  f.cpuSeconds = round(f.cpuSeconds + sign * cpuSeconds);
  f.wallSeconds = round(f.wallSeconds + sign * wall);
  if (outcome === "preempted") f.preempted += sign;
  if (outcome === "lost") f.lost += sign;
  if (killed) {
    f.lostCpuSeconds = round(f.lostCpuSeconds + sign * cpuSeconds);
    f.lostWallSeconds = round(f.lostWallSeconds + sign * wall);
  }
}

/** Milliseconds are enough; sums of floats stay readable. */
function round(s: number): number {
  return Math.max(0, Math.round(s * 1000) / 1000);
}
