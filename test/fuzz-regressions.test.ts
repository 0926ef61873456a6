// Every saved crasher (test/fixtures/fuzz-regressions/) replayed through the
// in-process parsers and, for campaigns and pipelines, the coordinator's
// parser workers: each is accepted or refused with exit 2 by the fuzzing rule.
import { afterAll, describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { orrery } from "./cli-runner.js";
import { ErrorCode, OrreryError } from "../src/common/errors.js";
import { closeCampaignParser, parseCampaignIsolated } from "../src/coordinator/campaign/index.js";
import { parseAs, regressionFiles, REGRESSIONS, violation } from "./fuzz/outcome.js";
import { CAMPAIGN_WITH_PIPELINE_FILE } from "./fuzz/seeds.js";

const FILES = regressionFiles();

function refusalOf(outcome: ReturnType<typeof parseAs>): OrreryError {
  if (outcome.ok || !(outcome.err instanceof OrreryError)) throw new Error(`expected a refusal, got ${JSON.stringify(outcome)}`);
  return outcome.err;
}

describe("fuzz regressions", () => {
  afterAll(closeCampaignParser);

  it("has the saved crashers", () => {
    expect(FILES.length).toBeGreaterThanOrEqual(7);
  });

  for (const f of FILES) {
    it(`${f.name} keeps the rule in-process`, () => {
      expect(violation(parseAs(f.kind, f.text))).toBeUndefined();
    });
  }

  for (const f of FILES.filter((x) => x.kind === "campaign" || x.kind === "pipeline")) {
    it(`${f.name} keeps the rule through the coordinator's parser workers`, async () => {
      const src = f.kind === "campaign" ? { specYaml: f.text, sourceName: f.name } : { specYaml: CAMPAIGN_WITH_PIPELINE_FILE, sourceName: "campaign.yaml", pipelineYaml: f.text, pipelineSourceName: f.name };
      let outcome: ReturnType<typeof parseAs>;
      try {
        await parseCampaignIsolated(src);
        outcome = { ok: true };
      } catch (err) {
        outcome = { ok: false, err };
      }
      expect(violation(outcome)).toBeUndefined();
      expect(outcome.ok).toBe(parseAs(f.kind, f.text).ok);
    });
  }

  // The CLI reads these itself, in its own worker, before it connects to anything.
  for (const f of FILES.filter((x) => x.kind === "policy" || x.kind === "manifest")) {
    it(`${f.name} is refused by the real CLI with exit 2 and no trace`, async () => {
      const path = fileURLToPath(new URL(f.name, REGRESSIONS));
      const args = f.kind === "policy" ? ["dbb", "policy", "set", "site-a", path] : ["dbb", "ingest", "--rse", "nowhere", "--manifest", path];
      const res = await orrery([...args, "--cluster", "/nonexistent/cluster.json"], { timeoutMs: 30_000 });
      expect(res.code, res.stderr).toBe(2);
      expect(res.stderr).toContain("refused");
      expect(res.stderr).not.toMatch(/^\s+at .+:\d+/m);
    });
  }

  it("refuses the issue's deep flow collections by the nesting cap, at their line", () => {
    const f = FILES.find((x) => x.name === "campaign-deep-flow-817.yaml")!;
    const e = refusalOf(parseAs("campaign", f.text));
    expect(e.code).toBe(ErrorCode.SPEC_INVALID);
    const line = f.text.split("\n").findIndex((l) => l.includes("[[[")) + 1;
    expect(e.message).toContain(`fuzz.yaml:${line}: (file): nested at least 65 levels deep, over the cap of 64 levels of nesting`);
  });

  it("refuses alias bombs with exit 2 naming the alias cap", () => {
    for (const name of ["campaign-alias-bomb.yaml", "policy-alias-bomb.yaml"]) {
      const f = FILES.find((x) => x.name === name)!;
      const e = refusalOf(parseAs(f.kind, f.text));
      expect(e.code, name).toBe(ErrorCode.SPEC_INVALID);
      expect(e.message, name).toContain("aliases expand to more than 100 nodes, over the cap on alias expansion");
    }
  });

  it("lists a repeated mistake's problems once each, at most fifty", () => {
    const f = FILES.find((x) => x.name === "campaign-repeated-syntax-error.yaml")!;
    const lines = refusalOf(parseAs("campaign", f.text)).message.split("\n").slice(1);
    expect(lines.length).toBeLessThanOrEqual(51);
    expect(new Set(lines).size).toBe(lines.length);
    if (lines.length === 51) expect(lines[50]).toMatch(/^… and \d+ more$/);
  });

  it("finds a duplicate key among 12,000 in one pass, at the second", () => {
    const f = FILES.find((x) => x.name === "campaign-duplicate-keys-12000.yaml")!;
    const start = performance.now();
    const e = refusalOf(parseAs("campaign", f.text));
    expect(performance.now() - start).toBeLessThan(2_000);
    const line = f.text.split("\n").findIndex((l) => l === "  k0: again") + 1;
    expect(e.message).toContain(`fuzz.yaml:${line}: (file): Map keys must be unique`);
  });
});
