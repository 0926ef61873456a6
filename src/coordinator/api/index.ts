// The api folder's door: the campaign service the CLI calls.
export { campaignApi } from "./campaign-api.js";
