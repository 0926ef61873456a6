// Entry of the coordinator's parser workers: campaign files are parsed and
// validated here, under the pool's memory and time limits (spec-parser.ts).
import { serveParseRequests } from "../../common/parse-worker-host.js";
import { parseCampaign, type CampaignSource } from "./spec.js";

serveParseRequests({
  // The request was checked to be a CampaignSource of strings by the pool's caller.
  campaign: (input) => parseCampaign(input as CampaignSource),
});
