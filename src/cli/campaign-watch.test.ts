import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { QuantumState } from "../gen/orrery/v1/common_pb.js";
import { campaignStates } from "../common/wire-enums.js";
import { ErrorCode, OrreryError } from "../common/errors.js";
import { CampaignStatusSchema, type CampaignStatus } from "../gen/orrery/v1/coordinator_pb.js";
import { LineProgressView, followCampaign } from "./campaign-watch.js";

function status(state: string, succeeded: number, running: number): CampaignStatus {
  const counts = [
    { state: QuantumState.SUCCEEDED, count: succeeded },
    { state: QuantumState.RUNNING, count: running },
  ];
  return create(CampaignStatusSchema, { campaign: "watch-me", state: campaignStates.value(state)!, counts, tasks: [{ task: "isr", counts }] });
}

/** Answers with the given statuses in turn (an error entry is thrown), repeating the last. */
function sequence(items: (CampaignStatus | Error)[]): () => Promise<CampaignStatus> {
  let i = 0;
  return async () => {
    const item = items[Math.min(i++, items.length - 1)]!;
    if (item instanceof Error) throw item;
    return item;
  };
}

describe("following a campaign", () => {
  it("polls until a terminal state and prints a line only when counts change", async () => {
    const lines: string[] = [];
    const final = await followCampaign(
      sequence([status("RUNNING", 0, 2), status("RUNNING", 0, 2), status("RUNNING", 1, 1), status("SUCCEEDED", 2, 0)]),
      { pollMs: 1, view: new LineProgressView((l) => lines.push(l)) },
    );
    expect(final.state).toBe("SUCCEEDED");
    expect(final.counts["SUCCEEDED"]).toBe(2);
    expect(lines).toEqual([
      "watch-me  RUNNING  0/2 done  (isr 0/2)",
      "watch-me  RUNNING  1/2 done  (isr 1/2)",
      "watch-me  SUCCEEDED  2/2 done  (isr 2/2)",
    ]);
  });

  it("keeps going through a short coordinator outage", async () => {
    const down = new OrreryError(ErrorCode.UNAVAILABLE, "cannot reach the coordinator");
    const final = await followCampaign(sequence([status("RUNNING", 0, 1), down, down, status("FAILED", 0, 0)]), {
      pollMs: 1,
      view: new LineProgressView(() => {}),
    });
    expect(final.state).toBe("FAILED");
  });

  it("gives up when the coordinator stays unreachable, and passes other errors on at once", async () => {
    const down = new OrreryError(ErrorCode.UNAVAILABLE, "cannot reach the coordinator");
    await expect(
      followCampaign(sequence([down]), { pollMs: 5, unreachableMs: 20, view: new LineProgressView(() => {}) }),
    ).rejects.toMatchObject({ code: ErrorCode.UNAVAILABLE });
    const missing = new OrreryError(ErrorCode.NOT_FOUND, "no campaign named watch-me");
    await expect(followCampaign(sequence([missing]), { pollMs: 1, view: new LineProgressView(() => {}) })).rejects.toBe(missing);
  });
});
