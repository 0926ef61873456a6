// `npm run test:soak`: the long runs kept out of `npm test` — the 100 agent
// kills and preemptions (test/soak/), and the fuzz tests again at ten times the
// cases with another seed. CI runs it after `npm test`.
import { defineConfig } from "vitest/config";
import base from "./vitest.config.js";

export default defineConfig({
  test: {
    ...base.test,
    include: ["test/soak/**/*.test.ts", "test/fuzz-*.test.ts"],
    exclude: ["**/node_modules/**"],
    testTimeout: 1_200_000,
    env: {
      ...base.test?.env,
      ORRERY_FUZZ_SCALE: process.env["ORRERY_FUZZ_SCALE"] ?? "10",
      ORRERY_FUZZ_SEED: process.env["ORRERY_FUZZ_SEED"] ?? "20261217",
    },
  },
});
