import { describe, expect, it } from "vitest";
import { isOrreryError } from "../../common/errors.js";
import { evaluate, parseRseExpression, resolve, type RseLike } from "./index.js";
import { StorageTier } from "../../gen/orrery/v1/common_pb.js";

const RSES: RseLike[] = [
  { name: "a-disk", site: "site-a", tier: StorageTier.DISK, attributes: { freespace: "100", veryfast: "true", archive: "false" } },
  { name: "a-tape", site: "site-a", tier: StorageTier.CUSTODIAL, attributes: { freespace: "5000", archive: "true" } },
  { name: "b-disk", site: "site-b", tier: StorageTier.DISK, attributes: { freespace: "lots", veryfast: "True" } },
  { name: "c-scratch", site: "site-c", tier: StorageTier.SCRATCH, attributes: { freespace: "50.5" } },
];

function names(expression: string, rses: readonly RseLike[] = RSES): string[] {
  return evaluate(parseRseExpression(expression), rses).map((r) => r.name);
}

function parseError(expression: string): string {
  try {
    parseRseExpression(expression);
  } catch (err) {
    expect(isOrreryError(err, "INVALID_ARGUMENT")).toBe(true);
    return (err as Error).message;
  }
  throw new Error(`"${expression}" parsed`);
}

describe("RSE expressions", () => {
  it("selects every RSE with *", () => {
    expect(names("*")).toEqual(["a-disk", "a-tape", "b-disk", "c-scratch"]);
  });

  it("reads a bare word as an RSE name, else as an attribute that is true", () => {
    expect(names("a-tape")).toEqual(["a-tape"]);
    expect(names("archive")).toEqual(["a-tape"]);
    expect(names("veryfast")).toEqual(["a-disk", "b-disk"]);
    expect(names("nosuchthing")).toEqual([]);
    const withNamedArchive = [...RSES, { name: "archive", site: "site-d", tier: StorageTier.DISK, attributes: {} }];
    expect(names("archive", withNamedArchive)).toEqual(["archive"]);
  });

  it("matches key=value on attributes, site and tier", () => {
    expect(names("site=site-a")).toEqual(["a-disk", "a-tape"]);
    expect(names("tier=custodial")).toEqual(["a-tape"]);
    expect(names("archive=false")).toEqual(["a-disk"]);
    expect(names("tier=tape")).toEqual([]);
  });

  it("compares key<n and key>n numerically, only where the attribute is a number", () => {
    expect(names("freespace>60")).toEqual(["a-disk", "a-tape"]);
    expect(names("freespace<100")).toEqual(["c-scratch"]);
    expect(names("freespace>50.4")).toEqual(["a-disk", "a-tape", "c-scratch"]);
    expect(names("freespace<-1")).toEqual([]);
    expect(names("site>0")).toEqual([]);
  });

  it("has union, intersection and complement", () => {
    expect(names("a-disk|c-scratch")).toEqual(["a-disk", "c-scratch"]);
    expect(names("site=site-a&tier=disk")).toEqual(["a-disk"]);
    expect(names("*\\site=site-a")).toEqual(["b-disk", "c-scratch"]);
    expect(names("tier=disk\\veryfast")).toEqual([]);
  });

  it("reads operators left to right with equal precedence", () => {
    expect(names("site=site-a|site=site-b&tier=disk")).toEqual(["a-disk", "b-disk"]);
    expect(names("site=site-a|(site=site-b&tier=disk)")).toEqual(["a-disk", "a-tape", "b-disk"]);
    expect(names("*\\site=site-a|a-tape")).toEqual(["a-tape", "b-disk", "c-scratch"]);
    expect(names("*\\(site=site-a|a-tape)")).toEqual(["b-disk", "c-scratch"]);
    expect(parseRseExpression("a|b&c")).toEqual({
      kind: "intersection",
      left: { kind: "union", left: { kind: "term", word: "a" }, right: { kind: "term", word: "b" } },
      right: { kind: "term", word: "c" },
    });
  });

  it("nests parentheses and ignores whitespace", () => {
    expect(names(" ( ( site = site-a ) & ( tier=disk | tier = custodial ) ) \\ archive ")).toEqual(["a-disk"]);
    expect(names("((*))")).toEqual(["a-disk", "a-tape", "b-disk", "c-scratch"]);
  });

  it("names the column and what was expected when an expression does not parse", () => {
    expect(parseError("site=a&(tier=disk")).toContain('rse expression "site=a&(tier=disk": column 18: expected ")"');
    expect(parseError("site=a)")).toMatch(/column 7: expected an operator .* found "\)"/);
    expect(parseError("")).toMatch(/column 1: expected an RSE name.*found the end/);
    expect(parseError("   ")).toContain("column 4: expected an RSE name");
    expect(parseError("a-disk|")).toMatch(/column 8: expected an RSE name.*found the end/);
    expect(parseError("|a-disk")).toMatch(/column 1: expected an RSE name.*found "\|"/);
    expect(parseError("a-disk&&b")).toContain('column 8: expected an RSE name');
    expect(parseError("()")).toMatch(/column 2: expected an RSE name.*found "\)"/);
    expect(parseError("site=a$b")).toMatch(/column 7: expected an operator .* found "\$"/);
    expect(parseError("si#te")).toContain('column 3');
    expect(parseError("site=")).toMatch(/column 6: expected a value after "site="/);
    expect(parseError("freespace<lots")).toMatch(/column 11: expected a number after "freespace<", found "lots"/);
    expect(parseError("a b")).toMatch(/column 3: expected an operator/);
  });

  it("resolves to the selected RSEs, and refuses an expression that selects none", () => {
    expect(resolve("tier=disk", RSES).map((r) => r.name)).toEqual(["a-disk", "b-disk"]);
    const none = (() => {
      try {
        return resolve("site=site-z", RSES);
      } catch (err) {
        return err;
      }
    })();
    expect(isOrreryError(none, "NOT_FOUND")).toBe(true);
    expect((none as Error).message).toBe('rse expression "site=site-z" selects no RSE (of 4)');
    expect(() => resolve("site=(", RSES)).toThrow(/column 6/);
  });
  it("refuses expressions past its caps on length and nesting, saying which", () => {
    expect(() => parseRseExpression("(".repeat(65) + "*" + ")".repeat(65))).toThrow(/column 65: expected at most 64 nested parentheses/);
    expect(() => parseRseExpression("a|".repeat(3000) + "a")).toThrow(/6001 characters: at most 4096 are read/);
    expect(parseRseExpression("(".repeat(64) + "*" + ")".repeat(64))).toEqual({ kind: "all" });
  });
});
