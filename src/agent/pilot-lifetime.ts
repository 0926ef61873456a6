// A pilot's life (an agent started by a batch job): it must be gone before its
// walltime ends, and it gives its slot back when the site has no work for it.
// It never lets the walltime kill a quantum: the coordinator leases it only
// quanta whose time limit ends before `leaveByMs`, and at that time the pilot
// retires — it takes nothing more, lets what runs finish, and exits.

export interface PilotLimits {
  /** When the batch system kills the job (ms since the epoch). */
  walltimeEndMs?: number;
  /** Retire after this long with nothing running or waiting (0: never). */
  idleExitMs?: number;
}

export interface PilotHooks {
  /** Leases running or waiting on the node. */
  busy(): number;
  /** Stop taking work, finish what runs, exit; `reason` is logged. */
  retire(reason: string): void;
  /** Stop now, reporting what still runs as preempted (the walltime is about to end). */
  stop(reason: string): void;
}

/** Time kept between `leaveByMs` and the walltime's end for stage-out, the last results and exit: 10 %, within 5 s..2 min. */
export function exitMarginMs(walltimeMs: number): number {
  return Math.min(120_000, Math.max(5_000, walltimeMs / 10));
}

/** The time by which every quantum of a pilot started at `startMs` must be over. */
export function leaveBy(startMs: number, walltimeEndMs: number): number {
  return walltimeEndMs - exitMarginMs(walltimeEndMs - startMs);
}

const IDLE_CHECK_MS = 500;
/** The last moment before the walltime's end at which the pilot stops whatever is left. */
const LAST_MOMENT_MS = 1_000;

export class PilotLifetime {
  private readonly timers: NodeJS.Timeout[] = [];
  private idleSinceMs = Date.now();

  constructor(
    private readonly limits: PilotLimits,
    private readonly leaveByMs: number | undefined,
    private readonly hooks: PilotHooks,
  ) {}

  start(): void {
    const now = Date.now();
    if (this.leaveByMs !== undefined) this.timers.push(setTimeout(() => this.hooks.retire("its walltime is ending"), Math.max(0, this.leaveByMs - now)));
    const end = this.limits.walltimeEndMs;
    if (end !== undefined) this.timers.push(setTimeout(() => this.hooks.stop("the pilot's walltime ends"), Math.max(0, end - LAST_MOMENT_MS - now)));
    const idle = this.limits.idleExitMs ?? 0;
    if (idle > 0) {
      this.timers.push(
        setInterval(() => {
          if (this.hooks.busy() > 0) this.idleSinceMs = Date.now();
          else if (Date.now() - this.idleSinceMs >= idle) this.hooks.retire(`idle for ${Math.round(idle / 1000)} s`);
        }, Math.min(IDLE_CHECK_MS, idle)),
      );
    }
    for (const t of this.timers) t.unref();
  }

  stop(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.length = 0;
  }
}
