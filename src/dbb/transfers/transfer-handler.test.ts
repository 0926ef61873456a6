import { describe, expect, it } from "vitest";
import { backoffDelay, parseTransferRequest } from "./transfer-handler.js";
import { DEFAULT_TRANSFER_LIMIT, transferLimitOf, transferMsgId } from "./transfer-stream.js";

const bytes = (v: unknown) => new TextEncoder().encode(typeof v === "string" ? v : JSON.stringify(v));

describe("transfer requests from JetStream (untrusted)", () => {
  it("accepts {rse, did, gen} for the consumer's RSE and ignores extra fields", () => {
    expect(parseTransferRequest(bytes({ rse: "site-b-disk", did: "hsc:raw/r_1.fits", gen: 3, note: "x" }), "site-b-disk")).toEqual({ rse: "site-b-disk", did: "hsc:raw/r_1.fits", gen: 3 });
  });

  it("says why anything else is refused", () => {
    expect(parseTransferRequest(bytes("{nope"), "r")).toBe("not JSON");
    expect(parseTransferRequest(bytes({ rse: "other", did: "s:n", gen: 1 }), "r")).toBe("rse other arrived on the subject of r");
    expect(parseTransferRequest(bytes({ rse: "r", did: "no-scope", gen: 1 }), "r")).toBe("did: not scope:name");
    expect(parseTransferRequest(bytes({ rse: "r", did: "s:", gen: 1 }), "r")).toBe("did: not scope:name");
    expect(parseTransferRequest(bytes({ rse: "r", did: "s:n", gen: 1.5 }), "r")).toMatch(/^gen: /);
    expect(parseTransferRequest(bytes({ rse: "R!", did: "s:n", gen: 1 }), "r")).toMatch(/^rse: /);
    expect(parseTransferRequest(bytes([1, 2]), "r")).toMatch(/^body: /);
    expect(parseTransferRequest(new Uint8Array(20_000), "r")).toBe("20000 bytes, over 16384");
  });

  it("names a request by rse, did and generation (the Nats-Msg-Id)", () => {
    expect(transferMsgId({ rse: "site-b-disk", did: "hsc:a:b", gen: 7 })).toBe("site-b-disk:hsc:a:b:7");
  });
});

describe("retry backoff", () => {
  it("doubles per try within ±10 % and stops at the cap", () => {
    const ctx = { backoffMs: 1000, maxBackoffMs: 30_000 };
    for (const [tries, base] of [[1, 1000], [2, 2000], [3, 4000], [5, 16_000], [6, 30_000], [60, 30_000]] as const) {
      const d = backoffDelay(ctx, tries);
      expect(d).toBeGreaterThanOrEqual(base * 0.9);
      expect(d).toBeLessThanOrEqual(base * 1.1);
    }
  });
});

describe("transfer_limit", () => {
  it("is the RSE attribute when it is a positive whole number, else the default", () => {
    expect(transferLimitOf({ name: "r", attributes: {} })).toBe(DEFAULT_TRANSFER_LIMIT);
    expect(transferLimitOf({ name: "r", attributes: { transfer_limit: "12" } })).toBe(12);
    expect(transferLimitOf({ name: "r", attributes: { transfer_limit: " 2 " } })).toBe(2);
    for (const bad of ["0", "-1", "1.5", "many", ""]) expect(transferLimitOf({ name: "r", attributes: { transfer_limit: bad } })).toBe(DEFAULT_TRANSFER_LIMIT);
  });
});
