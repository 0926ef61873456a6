// The node's free disk as credits offer it: what the work dir's file system
// has free, less a reserve for logs, the cache and the system, so the
// coordinator never leases a quantum whose diskMB the node cannot hold.
import type { Logger } from "../common/logger.js";
import { freeBytes } from "./exec/index.js";

/** Free disk the credit never offers. */
export const DISK_RESERVE_MB = 256;
/** A running payload is killed when the node's free disk falls below this (others' writes, or its own). */
export const DISK_FLOOR_MB = 64;
const MiB = 1024 * 1024;
/** statfs at most once a second: credits go at every lease end, thousands a second with short quanta. */
const FREE_TTL_MS = 1000;

export class NodeDisk {
  private last: { mb: number; atMs: number } | undefined;

  constructor(
    private readonly workDir: string,
    private readonly log: Logger,
  ) {}

  /** Free MB beyond the reserve; unknown (statfs failed) counts as unlimited. */
  async offerableMb(): Promise<number> {
    const now = Date.now();
    if (this.last !== undefined && now - this.last.atMs < FREE_TTL_MS) return this.last.mb;
    let mb: number;
    try {
      mb = Math.max(0, Math.floor((await freeBytes(this.workDir)) / MiB) - DISK_RESERVE_MB);
    } catch (err) {
      this.log.warn({ err }, "cannot read the work dir's free disk");
      mb = Infinity;
    }
    this.last = { mb, atMs: now };
    return mb;
  }
}
