// Mutated campaign files through the coordinator's parser workers (structured
// clones, resource limits, time budget): each ends as the in-process parser
// ends it, by the fuzzing rule, and the pool keeps all its workers.
import { afterAll, describe, expect, it } from "vitest";
import { closeCampaignParser, parseCampaignIsolated } from "../src/coordinator/campaign/index.js";
import { mutate } from "./fuzz/mutate.js";
import { parseAs, violation } from "./fuzz/outcome.js";
import { Random } from "./fuzz/random.js";
import { EXAMPLE_CAMPAIGN } from "./fuzz/seeds.js";

const SEED = Number(process.env["ORRERY_FUZZ_SEED"] ?? 20261201) + 1;
/** `ORRERY_FUZZ_SCALE` multiplies the cases, as for the in-process fuzzing (the soak runs more). */
const CASES = 300 * Number(process.env["ORRERY_FUZZ_SCALE"] ?? 1);

describe("fuzzing through the parser workers", () => {
  afterAll(closeCampaignParser);

  it(`${CASES} mutated campaign files are answered by the workers as in-process, by the rule`, async () => {
    const r = new Random(SEED);
    const failures: string[] = [];
    for (let i = 0; i < CASES; i++) {
      const text = mutate(EXAMPLE_CAMPAIGN, "yaml", r);
      let outcome: ReturnType<typeof parseAs>;
      try {
        await parseCampaignIsolated({ specYaml: text, sourceName: "fuzz.yaml" });
        outcome = { ok: true };
      } catch (err) {
        outcome = { ok: false, err };
      }
      const local = parseAs("campaign", text);
      const wrong = violation(outcome) ?? (outcome.ok !== local.ok ? `worker ${outcome.ok ? "accepted" : "refused"}, in-process ${local.ok ? "accepted" : "refused"}` : undefined);
      if (wrong !== undefined && failures.length < 10) failures.push(`seed ${SEED} case ${i}: ${wrong}\n${text.slice(0, 300)}`);
    }
    expect(failures).toEqual([]);
  });
});
