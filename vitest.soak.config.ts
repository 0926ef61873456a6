// `npm run test:soak`: the long runs kept out of `npm test` — the chaos runs
// in test/soak/ (each server killed mid-campaign, with short outages and with
// outages longer than a lease; 100 agent kills and preemptions) and the fuzz
// tests with another seed and three times the cases, the local Slurm's
// daemons restarted under a running job, pilots through that Slurm,
// replication with the dbb and nats-server killed mid-transfer, spot
// preemption and the agent's hardening runs; and the timed `npm run demo`.
// CI runs it after `npm test`; about 15 minutes on two cores.
import { defineConfig } from "vitest/config";
import base, { SOAK_ONLY } from "./vitest.config.js";

export default defineConfig({
  test: {
    ...base.test,
    include: ["test/soak/**/*.test.ts", "test/fuzz-worker.test.ts", ...SOAK_ONLY],
    // One file at a time: each chaos run sizes its campaign for the machine to itself.
    fileParallelism: false,
    exclude: ["**/node_modules/**"],
    testTimeout: 1_200_000,
    env: {
      ...base.test?.env,
      ORRERY_FUZZ_SCALE: process.env["ORRERY_FUZZ_SCALE"] ?? "3",
      ORRERY_FUZZ_SEED: process.env["ORRERY_FUZZ_SEED"] ?? "20261217",
    },
  },
});
