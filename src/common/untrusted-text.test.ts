import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ErrorCode, isOrreryError } from "./errors.js";
import { capProblemLines, checkSize, FILE_CAPS, MAX_NESTING_DEPTH, yamlDepthOver } from "./untrusted-text.js";
import { PositionedYaml } from "./yaml-problems.js";

describe("yamlDepthOver", () => {
  it("passes the example campaign and ordinary block text", () => {
    expect(yamlDepthOver(readFileSync(new URL("../../examples/mini-drp/campaign.yaml", import.meta.url), "utf8"))).toBeUndefined();
    const text = "a:\n  b: |\n" + Array.from({ length: 200 }, (_, i) => `    ${" ".repeat(i)}x`).join("\n") + "\nc: [1, '[[[', \"{{{\"] # [[[[\n";
    expect(yamlDepthOver(text)).toBeUndefined();
  });

  it("finds deep flow collections, deep blocks and deep dash sequences, with their line", () => {
    expect(yamlDepthOver(`x: 1\na: ${"[".repeat(817)}x${"]".repeat(817)}\n`)).toEqual({ line: 2, depth: MAX_NESTING_DEPTH + 1 });
    const block = Array.from({ length: 100 }, (_, i) => `${" ".repeat(i)}k${i}:`).join("\n");
    expect(yamlDepthOver(block)?.depth).toBe(MAX_NESTING_DEPTH + 1);
    expect(yamlDepthOver(`${"- ".repeat(100)}x\n`)?.line).toBe(1);
  });
});

describe("PositionedYaml caps", () => {
  it("refuses the flow nesting that crashed V8's regexp compiler, naming the cap", () => {
    const doc = new PositionedYaml("deep.yaml", `a: ${"[".repeat(817)} x y , 'q  ' ${"]".repeat(817)}\n`);
    const problems = doc.syntaxProblems();
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ file: "deep.yaml", line: 1 });
    expect(problems[0]!.message).toContain(`cap of ${MAX_NESTING_DEPTH} levels of nesting`);
  });

  it("refuses an alias bomb as a problem, not an exception", () => {
    const bomb = ["a: &a [x, x, x, x, x, x, x, x, x]", ...Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9).fill(`*${String.fromCharCode(97 + i)}`).join(", ")}]`)].join("\n");
    const doc = new PositionedYaml("bomb.yaml", bomb);
    expect(doc.syntaxProblems()[0]?.message).toContain("over the cap on alias expansion");
    expect(doc.value()).toBeUndefined();
  });
});

describe("capProblemLines and checkSize", () => {
  it("lists each distinct problem once, the first fifty, then how many more", () => {
    expect(capProblemLines(Array(100).fill("f.yaml:3: (file): bad")).shown).toEqual(["f.yaml:3: (file): bad"]);
    const many = capProblemLines(Array.from({ length: 120 }, (_, i) => `f:${i}: x`));
    expect(many.distinct).toBe(120);
    expect(many.shown).toHaveLength(51);
    expect(many.shown[50]).toBe("… and 70 more");
  });

  it("refuses a file over its kind's cap with SPEC_INVALID naming the cap and the size", () => {
    expect(() => checkSize("campaign", "c.yaml", FILE_CAPS.campaign.bytes)).not.toThrow();
    let caught: unknown;
    try {
      checkSize("campaign", "c.yaml", FILE_CAPS.campaign.bytes + 1);
    } catch (err) {
      caught = err;
    }
    expect(isOrreryError(caught, ErrorCode.SPEC_INVALID)).toBe(true);
    expect((caught as Error).message).toContain(`${FILE_CAPS.campaign.bytes + 1} bytes, over the size cap of ${FILE_CAPS.campaign.bytes} bytes`);
  });
});
