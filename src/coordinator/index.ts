export { runCoordinator, type CoordinatorOptions, type CoordinatorHandle } from "./server.js";
export { parseCampaign, expandGraph, type CampaignSpec, type PlannedGraph } from "./campaign/index.js";
