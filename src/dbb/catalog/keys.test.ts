import { describe, expect, it } from "vitest";
import { isOrreryError } from "../../common/errors.js";
import { Keys, checkDatasetType, checkDidName, checkRseName, checkScope } from "./keys.js";

describe("catalog keys", () => {
  it("puts every key under dbb: with scope and RSE before the free-form name", () => {
    expect(Keys.did("hsc", "raw/r_903334_16.fits")).toBe("dbb:did:hsc:raw/r_903334_16.fits");
    expect(Keys.replica("site-a-disk", "hsc", "a:b")).toBe("dbb:replica:site-a-disk:hsc:a:b");
    expect(Keys.typeIndex("hsc", "raw")).toBe("dbb:type:hsc:raw");
    expect(Keys.members("hsc", "ingest-1")).toBe("dbb:members:hsc:ingest-1");
    expect(Keys.rse("site-a-disk")).toBe("dbb:rse:site-a-disk");
    for (const key of [Keys.rses, Keys.fileRses("s", "n"), Keys.rseReplicas("r")]) expect(key.startsWith("dbb:")).toBe(true);
  });

  it("accepts valid names", () => {
    expect(checkScope("hsc-drp_v1.2")).toBe("hsc-drp_v1.2");
    expect(checkDatasetType("postISRCCD")).toBe("postISRCCD");
    expect(checkRseName("site-a-disk")).toBe("site-a-disk");
    expect(checkDidName("raw/r_1.fits")).toBe("raw/r_1.fits");
  });

  it("refuses names that would break the key layout, naming the field and the rule", () => {
    const cases: [() => unknown, RegExp][] = [
      [() => checkScope("hsc:x"), /scope "hsc:x" is not valid: use letters/],
      [() => checkScope(""), /scope/],
      [() => checkDatasetType("raw type"), /dataset type "raw type"/],
      [() => checkRseName("Site_A"), /RSE name "Site_A" is not valid: use lower-case/],
      [() => checkDidName("/abs/path"), /relative/],
      [() => checkDidName(""), /non-empty/],
    ];
    for (const [fn, message] of cases) {
      let caught: unknown;
      try {
        fn();
      } catch (err) {
        caught = err;
      }
      expect(isOrreryError(caught, "INVALID_ARGUMENT")).toBe(true);
      expect((caught as Error).message).toMatch(message);
    }
  });
});
