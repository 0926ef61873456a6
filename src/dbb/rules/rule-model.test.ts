import { describe, expect, it } from "vitest";
import { ruleState, validateRuleInput } from "./rule-model.js";

describe("rule input", () => {
  it("fills Rucio's defaults: one copy, DATASET grouping, no lifetime, unlocked", () => {
    expect(validateRuleInput({ did: "hsc:raw", rseExpression: "tier=disk" })).toEqual({
      did: "hsc:raw",
      rseExpression: "tier=disk",
      copies: 1,
      lifetimeSeconds: undefined,
      grouping: "DATASET",
      weight: "",
      sourceExpression: "",
      locked: false,
      subscription: "",
    });
  });

  it("refuses each bad field by name", () => {
    expect(() => validateRuleInput({ did: "nocolon", rseExpression: "*" })).toThrow(/not a DID/);
    expect(() => validateRuleInput({ did: "s:n", rseExpression: "*", copies: 0 })).toThrow(/copies 0/);
    expect(() => validateRuleInput({ did: "s:n", rseExpression: "*", grouping: "SOME" })).toThrow(/grouping "SOME"/);
    expect(() => validateRuleInput({ did: "s:n", rseExpression: "a&(b" })).toThrow(/column/);
    expect(() => validateRuleInput({ did: "s:n", rseExpression: "*", sourceExpression: "|" })).toThrow();
    expect(() => validateRuleInput({ did: "s:n", rseExpression: "*", lifetime: "soon" })).toThrow(/lifetime/);
    expect(() => validateRuleInput({ did: "s:n", rseExpression: "*", weight: "a b" })).toThrow(/weight "a b"/);
  });

  it("parses lifetimes as durations", () => {
    expect(validateRuleInput({ did: "s:n", rseExpression: "*", lifetime: "2h", grouping: "all" })).toMatchObject({ lifetimeSeconds: 7200, grouping: "ALL" });
  });

  it("derives the state from the locks as Rucio does", () => {
    expect(ruleState({ OK: 3, REPLICATING: 0, STUCK: 0 }, false)).toBe("OK");
    expect(ruleState({ OK: 3, REPLICATING: 1, STUCK: 0 }, false)).toBe("REPLICATING");
    expect(ruleState({ OK: 3, REPLICATING: 1, STUCK: 1 }, false)).toBe("STUCK");
    expect(ruleState({ OK: 3, REPLICATING: 0, STUCK: 0 }, true)).toBe("SUSPENDED");
  });
});
