import { describe, expect, it } from "vitest";
import { isOrreryError } from "../../common/errors.js";
import { parseManifest } from "./manifest.js";

const good = (over: Record<string, unknown> = {}) =>
  JSON.stringify({ path: "raw/r_903334_16.fits", scope: "hsc", datasetType: "raw", dataId: { instrument: "HSC", exposure: 903334, detector: 16 }, ...over });

function refusal(text: string): string {
  try {
    parseManifest(text, "manifest.jsonl");
  } catch (err) {
    expect(isOrreryError(err, "SPEC_INVALID")).toBe(true);
    return (err as Error).message;
  }
  throw new Error("manifest was accepted");
}

describe("parseManifest", () => {
  it("reads every line with its line number, skipping blank lines", () => {
    const text = [good({ metadata: { obsTime: "2026-03-01T04:05:06Z" }, validFrom: null, validTo: null }), "", good({ path: "bias/b.fits", datasetType: "bias", validFrom: "2026-01-01T00:00:00Z", validTo: "2027-01-01T00:00:00Z" })].join("\n");
    const entries = parseManifest(`${text}\n`, "m.jsonl");
    expect(entries).toHaveLength(2);
    expect(entries[0]).toMatchObject({ line: 1, path: "raw/r_903334_16.fits", scope: "hsc", datasetType: "raw", metadata: { obsTime: "2026-03-01T04:05:06Z" }, validFrom: "", validTo: "" });
    expect(entries[0]!.dataId).toEqual({ instrument: "HSC", exposure: 903334, detector: 16 });
    expect(entries[1]).toMatchObject({ line: 3, path: "bias/b.fits", validFrom: "2026-01-01T00:00:00Z", metadata: {} });
  });

  it("names the file, line and field of each problem", () => {
    const message = refusal([good(), good({ path: "b.fits" }), good({ path: "c.fits", dataId: "HSC" })].join("\n"));
    expect(message).toContain("manifest.jsonl:3: dataId: expected an object");
    expect(message).not.toContain("manifest.jsonl:1");
  });

  it("lists every problem of every line", () => {
    const lines = [
      "{not json",
      JSON.stringify({ path: "a.fits", scope: "hsc", dataId: {} }),
      good({ path: "/abs.fits", scope: "bad scope", extra: 1 }),
      good({ dataId: { detector: true } }),
      good({ validFrom: "yesterday" }),
      good({ path: "x.fits", validFrom: "2027-01-01T00:00:00Z", validTo: "2026-01-01T00:00:00Z" }),
      good({ path: "dup.fits" }),
      "[1,2]",
      good({ path: "dup.fits" }),
    ];
    const message = refusal(lines.join("\n"));
    expect(message).toMatch(/manifest\.jsonl:1: not JSON/);
    expect(message).toContain("manifest.jsonl:2: datasetType: is required");
    expect(message).toContain("manifest.jsonl:3: path: must be relative to the manifest's folder");
    expect(message).toContain("manifest.jsonl:3: scope: is not a valid scope");
    expect(message).toContain("manifest.jsonl:3: extra: is not a manifest field");
    expect(message).toContain("manifest.jsonl:4: dataId.detector: expected a string or a number");
    expect(message).toContain("manifest.jsonl:5: validFrom: expected an ISO 8601 time");
    expect(message).toContain("manifest.jsonl:6: validTo: must be later than validFrom");
    expect(message).toContain("manifest.jsonl:9: path: hsc:dup.fits is already on line 7");
    expect(message).toContain("manifest.jsonl:8: expected a JSON object");
  });

  it("refuses '..' and an empty manifest", () => {
    expect(refusal(good({ path: "../x.fits" }))).toContain("manifest.jsonl:1: path: must be relative");
    expect(refusal("\n\n")).toContain("lists no files");
  });
});
