import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { ReportResponseSchema } from "../gen/orrery/v1/coordinator_pb.js";
import { CampaignState } from "../gen/orrery/v1/common_pb.js";
import { outcomeGroups, reportToJson } from "./report.js";

describe("report view", () => {
  it("prints CONTRACT's {campaign, tasks:{T:{SITE:{…}}}, totals:{…}} with attempts the sum of outcomes", () => {
    const figures = { quanta: 2n, succeededQuanta: 1n, outcomes: { succeeded: 1n, lost: 1n }, cpuMs: 7_200_000n, wallMs: 3_600_000n, peakRssBytes: 5n, cacheBytes: 1n, ownSiteBytes: 2n, otherSiteBytes: 3n, outBytes: 4n };
    const res = create(ReportResponseSchema, { campaign: "c", state: CampaignState.RUNNING, cells: [{ task: "isr", site: "site-a", figures }], totals: figures, distinctQuanta: 2n });
    const json = reportToJson(res);
    expect(json.campaign).toBe("c");
    expect(json.state).toBe("RUNNING");
    expect(json.tasks["isr"]!["site-a"]).toEqual({
      quanta: 2,
      succeeded: 1,
      attempts: 2,
      outcomes: { succeeded: 1, lost: 1 },
      cpuMs: 7_200_000,
      wallMs: 3_600_000,
      cpuHours: 2,
      wallHours: 1,
      peakRssBytes: 5,
      bytesIn: { cache: 1, ownSite: 2, otherSite: 3 },
      bytesOut: 4,
    });
    expect(json.totals.distinctQuanta).toBe(2);
  });

  it("groups outcomes: ok, failed (the payload's or the infrastructure's), killed (preempted, lost, cancelled), running", () => {
    expect(outcomeGroups({ succeeded: 3, payload_error: 1, stage_in_error: 1, timeout: 1, preempted: 2, lost: 1, cancelled: 1, running: 4 })).toEqual({ ok: 3, failed: 3, killed: 4, running: 4 });
  });
});
