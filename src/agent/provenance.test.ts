import { describe, expect, it } from "vitest";
import { filterEnvironment, payloadEnvironment } from "./provenance.js";

describe("what a payload's environment holds of the agent's", () => {
  const agentEnv = { PATH: "/usr/bin", ORRERY_TOKEN: "agent-token", ORRERY_CA: "/c/ca.pem", ORRERY_REDIS_PASSWORD: "pw", ORRERY_NATS: "nats://x", HOME: "/h" };

  it("passes everything on but the agent's own secrets", () => {
    expect(payloadEnvironment(agentEnv)).toEqual({ PATH: "/usr/bin", ORRERY_CA: "/c/ca.pem", ORRERY_NATS: "nats://x", HOME: "/h" });
  });

  it("records no secret in provenance", () => {
    expect(Object.keys(filterEnvironment(agentEnv))).not.toContain("ORRERY_TOKEN");
  });
});
