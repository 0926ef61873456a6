import { describe, expect, it } from "vitest";
import { IDENTITY_BYTES } from "../campaign/identity.js";
import type { RowBatch } from "../workload/quantum-rows.js";
import { decodeRowBatch, encodeRowBatch } from "./row-index.js";

describe("row index", () => {
  it("gives back a batch's links and identities, including links to rows before it", () => {
    const identities = Uint8Array.from({ length: 3 * IDENTITY_BYTES }, (_, i) => (i * 7) % 256);
    const batch: RowBatch = {
      ranges: [{ task: "coadd", start: 10, count: 3 }],
      count: 3,
      upstream: { start: Int32Array.of(0, 2, 2, 5), rows: Int32Array.of(0, 9, 1, 2, 11) },
      identities,
    };
    // Its part of the campaign's ranges: the coadd's, not the rows before it.
    const back = decodeRowBatch(encodeRowBatch(batch), 10, [{ task: "isr", start: 0, count: 10 }, ...batch.ranges]);
    expect(back).toEqual(batch);
    expect(back.ranges).not.toBe(batch.ranges);
  });

  it("gives back the catalog files each row reads", () => {
    const batch: RowBatch = {
      ranges: [{ task: "isr", start: 0, count: 2 }],
      count: 2,
      upstream: { start: Int32Array.of(0, 0, 0), rows: new Int32Array(0) },
      identities: new Uint8Array(2 * IDENTITY_BYTES),
      inputs: { dids: ["hsc:raw_1", "hsc:bias"], bytes: Float64Array.of(1000, 50), links: { start: Int32Array.of(0, 2, 3), rows: Int32Array.of(0, 1, 1) } },
    };
    expect(decodeRowBatch(encodeRowBatch(batch), 0, batch.ranges)).toEqual(batch);
    const torn = encodeRowBatch(batch);
    expect(() => decodeRowBatch(torn.subarray(0, torn.length - 4), 0, batch.ranges)).toThrow(/do not add up/);
  });

  it("refuses a value whose length does not match its counts", () => {
    const value = encodeRowBatch({ ranges: [], count: 1, upstream: { start: Int32Array.of(0, 1), rows: Int32Array.of(4) }, identities: new Uint8Array(IDENTITY_BYTES) });
    expect(() => decodeRowBatch(value.subarray(0, value.length - 1), 0, [])).toThrow(/1 rows and 1 links has/);
  });
});
