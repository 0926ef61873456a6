import { describe, expect, it } from "vitest";
import { createHash, randomBytes } from "node:crypto";
import { Checksummer, adler32Hex, adler32Update, checksumBytes } from "./checksum.js";

/** adler32 as RFC 1950 defines it, one byte at a time, for reference. */
function referenceAdler32(data: Uint8Array): string {
  let a = 1;
  let b = 0;
  for (const byte of data) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  return (((b << 16) | a) >>> 0).toString(16).padStart(8, "0");
}

describe("checksums", () => {
  it("matches known adler32 values", () => {
    expect(checksumBytes(new TextEncoder().encode("Wikipedia")).adler32).toBe("11e60398");
    expect(checksumBytes(new Uint8Array(0))).toEqual({ bytes: 0, adler32: "00000001", md5: "d41d8cd98f00b204e9800998ecf8427e" });
  });

  it("agrees with the byte-at-a-time definition for any length and any split into chunks", () => {
    for (const size of [1, 3, 4, 5, 5551, 5552, 5553, 65_537, 300_001]) {
      const data = size % 2 === 0 ? randomBytes(size) : Buffer.alloc(size, 0xff); // all-0xff is the worst case for overflow
      const whole = checksumBytes(data);
      expect(whole.adler32, `size ${size}`).toBe(referenceAdler32(data));
      expect(whole.md5).toBe(createHash("md5").update(data).digest("hex"));
      const sum = new Checksummer();
      for (let i = 0; i < size; i += 7_777) sum.update(data.subarray(i, i + 7_777));
      expect(sum.digest()).toEqual(whole);
    }
  });

  it("sums word-aligned and unaligned views alike, across its deferred-modulo blocks", () => {
    // 2^19 + 9 bytes: two full blocks of 2^18 bytes then a tail; all-0xff drives the sums highest.
    const backing = Buffer.alloc((1 << 19) + 16, 0xff);
    randomBytes(4096).copy(backing, 100_000);
    for (const offset of [0, 1, 2, 3, 4]) {
      const view = new Uint8Array(backing.buffer, backing.byteOffset + offset, (1 << 19) + 9);
      expect(adler32Hex(adler32Update(1, view)), `offset ${offset}`).toBe(referenceAdler32(view));
    }
  });
});
