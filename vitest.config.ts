import { configDefaults, defineConfig } from "vitest/config";

/**
 * Files only the soak runs, to keep `npm test` within its time: the fuzz runs
 * through the parsers and a running coordinator (the soak runs them at three
 * times the cases), the Slurm daemons killed and restarted under a job, pilots
 * replaced through a real Slurm (about a minute), replication with the dbb
 * and nats-server killed mid-transfer (about 90 s), and the agent's own kills:
 * spot preemption through the metadata service and the hardening runs
 * (SIGKILLed agents' orphans, disk limits), about 80 s together.
 */
export const SOAK_ONLY = [
  "test/fuzz-parsers.test.ts",
  "test/fuzz-cluster.test.ts",
  "test/slurm.test.ts",
  "test/slurm-pilots.test.ts",
  "test/dbb-replication.test.ts",
  "test/spot-preempt.test.ts",
  "test/agent-hardening.test.ts",
];

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    // The long chaos and fuzz runs: `npm run test:soak` (vitest.soak.config.ts), which CI runs too.
    exclude: [...configDefaults.exclude, "test/soak/**", ...SOAK_ONLY],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    globalSetup: ["test/global-setup.ts"],
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
  },
});
