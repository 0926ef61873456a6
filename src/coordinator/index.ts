export { runCoordinator, type CoordinatorOptions, type CoordinatorHandle } from "./server.js";
export { parseCampaign, expandGraph, type CampaignSpec, type PlannedGraph } from "./campaign/index.js";
export { DEFAULT_LOCALITY_DELAY_MS } from "./workload/index.js";
