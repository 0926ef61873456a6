import { describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { Metadata } from "@grpc/grpc-js";
import { ErrorCode } from "../common/errors.js";
import { checkCall, NO_TOKEN_MESSAGE, REFUSED_TOKEN_MESSAGE, type CallRole } from "./call-auth.js";

const tokens = new Map<CallRole, Buffer>([
  ["operator", createHash("sha256").update("op-token").digest()],
  ["agent", createHash("sha256").update("agent-token").digest()],
]);

function md(authorization?: string): Metadata {
  const m = new Metadata();
  if (authorization !== undefined) m.set("authorization", authorization);
  return m;
}

const SUBMIT = "/orrery.v1.CampaignService/Submit";
const CONNECT = "/orrery.v1.AgentLinkService/Connect";

describe("checkCall: bearer tokens per role", () => {
  it("lets each role call its own service", () => {
    expect(checkCall(SUBMIT, md("Bearer op-token"), tokens)).toBeUndefined();
    expect(checkCall(CONNECT, md("bearer agent-token"), tokens)).toBeUndefined();
  });

  it("refuses a call without a token, or with a malformed header, as UNAUTHENTICATED saying no token", () => {
    for (const m of [md(), md("op-token"), md("Basic b3A6dG9rZW4="), md("Bearer ")]) {
      const e = checkCall(SUBMIT, m, tokens);
      expect(e?.code).toBe(ErrorCode.UNAUTHENTICATED);
      expect(e?.message).toBe(NO_TOKEN_MESSAGE);
    }
  });

  it("refuses a wrong token as UNAUTHENTICATED, without repeating it", () => {
    const e = checkCall(SUBMIT, md("Bearer op-tokeN"), tokens);
    expect(e?.code).toBe(ErrorCode.UNAUTHENTICATED);
    expect(e?.message).toBe(REFUSED_TOKEN_MESSAGE);
    expect(`${e?.message ?? ""} ${e?.hint ?? ""}`).not.toContain("op-tokeN");
  });

  it("refuses a role on the other role's service as PERMISSION_DENIED naming both", () => {
    const e = checkCall(SUBMIT, md("Bearer agent-token"), tokens);
    expect(e?.code).toBe(ErrorCode.PERMISSION_DENIED);
    expect(e?.message).toBe("the agent token may not call orrery.v1.CampaignService/Submit: it needs the operator token");
    expect(checkCall(CONNECT, md("Bearer op-token"), tokens)?.code).toBe(ErrorCode.PERMISSION_DENIED);
    expect(checkCall("/grpc.health.v1.Health/Check", md("Bearer op-token"), tokens)?.code).toBe(ErrorCode.PERMISSION_DENIED);
  });

  it("lets no one in as a role the coordinator has no token for", () => {
    const onlyOperator = new Map([...tokens].filter(([r]) => r === "operator"));
    expect(checkCall(CONNECT, md("Bearer agent-token"), onlyOperator)?.code).toBe(ErrorCode.UNAUTHENTICATED);
  });
});
