// `Report`: a campaign's accounting (workload/accounting.ts) on the wire.
import { create } from "@bufbuild/protobuf";
import { ReportFiguresSchema, type ReportResponse } from "../../gen/orrery/v1/coordinator_pb.js";
import { CampaignState } from "../../gen/orrery/v1/common_pb.js";
import { campaignStates } from "../../common/wire-enums.js";
import { ErrorCode, OrreryError } from "../../common/errors.js";
import type { CampaignReport, SiteAccount } from "../workload/index.js";

function figures(f: SiteAccount) {
  return create(ReportFiguresSchema, {
    quanta: BigInt(f.quanta),
    succeededQuanta: BigInt(f.succeeded),
    outcomes: Object.fromEntries(Object.entries(f.outcomes).map(([o, n]) => [o, BigInt(n)])),
    cpuMs: BigInt(f.cpuMs),
    wallMs: BigInt(f.wallMs),
    peakRssBytes: BigInt(f.peakRssBytes),
    cacheBytes: BigInt(f.cacheBytes),
    ownSiteBytes: BigInt(f.ownSiteBytes),
    otherSiteBytes: BigInt(f.otherSiteBytes),
    outBytes: BigInt(f.outBytes),
  });
}

/** The campaign a Report request names; refused when it names none. */
export function reportCampaign(campaign: string): string {
  if (campaign === "") throw new OrreryError(ErrorCode.INVALID_ARGUMENT, "campaign: give the name of a campaign", { hint: "see `orrery status` for the campaigns there are" });
  return campaign;
}

export function reportResponse(r: CampaignReport): Omit<ReportResponse, "$typeName"> {
  return {
    campaign: r.campaign,
    state: campaignStates.value(r.state) ?? CampaignState.UNSPECIFIED,
    cells: r.cells.map((c) => ({ $typeName: "orrery.v1.ReportCell", task: c.task, site: c.site, figures: figures(c.figures) })),
    totals: figures(r.totals),
    distinctQuanta: BigInt(r.distinctQuanta),
  };
}
