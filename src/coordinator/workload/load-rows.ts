// A stored campaign's quantum rows at start-up: links and identities come from
// its definitions in Redis, read a batch of quanta at a time (only the index
// stays; the definitions themselves are read again when needed).
import type { CampaignKeys, CoordinatorStore } from "../store/redis-store.js";
import { IDENTITY_BYTES } from "../campaign/identity.js";
import { rowOfId, type RowBatch, type TaskRange } from "./quantum-rows.js";

/** Definitions read per Redis round. */
const BATCH = 5000;

/** Ranges are in row order, without gaps (as QuantumRows appends them). */
export async function loadRows(store: CoordinatorStore, c: CampaignKeys, ranges: readonly TaskRange[]): Promise<RowBatch> {
  const campaign = c.name;
  const count = ranges.reduce((n, r) => n + r.count, 0);
  const start = new Int32Array(count + 1);
  const links: number[] = [];
  const identities = new Uint8Array(count * IDENTITY_BYTES);
  for (const r of ranges) {
    for (let from = r.start; from < r.start + r.count; from += BATCH) {
      const ids: string[] = [];
      for (let row = from; row < Math.min(r.start + r.count, from + BATCH); row++) ids.push(`${campaign}.${r.task}.${row - r.start + 1}`);
      const definitions = await store.getDefinitions(c, ids);
      definitions.forEach((d, i) => {
        const row = from + i;
        Buffer.from(d.identity, "hex").copy(identities, row * IDENTITY_BYTES);
        for (const id of d.upstream) {
          const u = rowOfId(campaign, ranges, id);
          if (u !== undefined) links.push(u);
        }
        start[row + 1] = links.length;
      });
    }
  }
  return { ranges: ranges.map((r) => ({ ...r })), count, upstream: { start, rows: Int32Array.from(links) }, identities };
}
