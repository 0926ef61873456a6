// Seeded fuzzing of the real parsers, in-process: campaign files, pipeline
// files, site policies and ingest manifests, mutated from valid seeds. Every
// case must be accepted or refused by the rule in fuzz/outcome.ts, quickly.
// A failure names its seed and case; save the case under
// test/fixtures/fuzz-regressions/ so fuzz-regressions.test.ts replays it.
import { describe, expect, it } from "vitest";
import { mutate } from "./fuzz/mutate.js";
import { parseAs, violation } from "./fuzz/outcome.js";
import { Random } from "./fuzz/random.js";
import { SEEDS, type SeedKind } from "./fuzz/seeds.js";

const SEED = Number(process.env["ORRERY_FUZZ_SEED"] ?? 20261201);
/** 10,000 cases in all; `ORRERY_FUZZ_SCALE=10` for a soak run. */
const SCALE = Number(process.env["ORRERY_FUZZ_SCALE"] ?? 1);
const CASES: Record<SeedKind, number> = { campaign: 4000, pipeline: 2000, policy: 2000, manifest: 2000 };
/** No case may take longer in-process than this: a parser that does is a hang waiting to happen. */
const SLOW_MS = 3_000;

describe("fuzzing the parsers in-process", () => {
  it("accepts every seed as it is", () => {
    for (const kind of Object.keys(SEEDS) as SeedKind[]) expect(parseAs(kind, SEEDS[kind]), kind).toEqual({ ok: true });
  });

  for (const kind of Object.keys(CASES) as SeedKind[]) {
    it(`${CASES[kind] * SCALE} mutated ${kind} files are each accepted or refused with exit 2 and clear, capped messages`, () => {
      const r = new Random(SEED + kind.length * 7919);
      const failures: string[] = [];
      let refused = 0;
      for (let i = 0; i < CASES[kind] * SCALE; i++) {
        const text = mutate(SEEDS[kind], kind === "manifest" ? "jsonl" : "yaml", r);
        const start = performance.now();
        const outcome = parseAs(kind, text);
        const ms = performance.now() - start;
        if (!outcome.ok) refused++;
        const wrong = violation(outcome) ?? (ms > SLOW_MS ? `took ${Math.round(ms)} ms` : undefined);
        if (wrong !== undefined && failures.length < 10) failures.push(`seed ${SEED} ${kind} case ${i}: ${wrong}\n--- file (${text.length} chars) ---\n${text.slice(0, 400)}`);
      }
      expect(failures).toEqual([]);
      // The mutations must reach the refusal paths, or the fuzzer tests nothing.
      expect(refused).toBeGreaterThan(CASES[kind] * SCALE * 0.3);
    });
  }
});
