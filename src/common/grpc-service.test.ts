// The gRPC ⇄ protobuf-es adapter over a real grpc-js server on loopback.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as grpc from "@grpc/grpc-js";
import { CampaignService } from "../gen/orrery/v1/coordinator_pb.js";
import { AttemptOutcome, QuantumState } from "../gen/orrery/v1/common_pb.js";
import { createUnaryClient, grpcServiceDefinition, unaryHandlers } from "./grpc-service.js";
import { ErrorCode, OrreryError } from "./errors.js";

/** Quanta in one listing: about 9 MB of protobuf, twice grpc-js's default 4 MB limit. */
const QUANTA = 40_000;

describe("unary gRPC client", () => {
  const server = new grpc.Server();
  let address = "";

  beforeAll(async () => {
    server.addService(
      grpcServiceDefinition(CampaignService),
      unaryHandlers(CampaignService, {
        listQuanta: (req) =>
          Promise.resolve({
            quanta: Array.from({ length: QUANTA }, (_, i) => ({
              id: `${req.campaign}.isr.${i + 1}`,
              task: "isr",
              dataId: `{"detector":${i % 200},"exposure":${900_000 + Math.floor(i / 200)},"instrument":"HSC"}`,
              state: QuantumState.SUCCEEDED,
              inputs: [`hsc:raw/HSC/${900_000 + Math.floor(i / 200)}/raw_HSC_${900_000 + Math.floor(i / 200)}_${i % 200}.fits`],
              outputs: [`hsc-drp:big/run1/postISRCCD/postISRCCD_HSC_${900_000 + Math.floor(i / 200)}_${i % 200}.fits`],
              attempts: [{ agent: "agent-1", site: "site-a", outcome: AttemptOutcome.SUCCEEDED, exitCode: 0, startMs: 1n, endMs: 2n }],
            })),
          }),
        setPriority: (req) => Promise.reject(new OrreryError(ErrorCode.ILLEGAL_TRANSITION, `campaign ${req.campaign} is SUCCEEDED`, { hint: "see `orrery status`" })),
      }),
    );
    const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
    address = `127.0.0.1:${port}`;
  });

  afterAll(() => {
    server.forceShutdown();
  });

  it("takes a listing of tens of thousands of quanta, past grpc-js's default 4 MB answer limit", async () => {
    const client = createUnaryClient(CampaignService, address);
    try {
      const res = await client.listQuanta({ campaign: "big" });
      expect(res.quanta).toHaveLength(QUANTA);
      expect(res.quanta[QUANTA - 1]!.id).toBe(`big.isr.${QUANTA}`);
    } finally {
      client.close();
    }
  });

  it("keeps an error's code and hint across the wire", async () => {
    const client = createUnaryClient(CampaignService, address);
    try {
      const err = await client.setPriority({ campaign: "done", priority: 5 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OrreryError);
      expect(err).toMatchObject({ code: ErrorCode.ILLEGAL_TRANSITION, message: "campaign done is SUCCEEDED", hint: "see `orrery status`" });
    } finally {
      client.close();
    }
  });
});
