export { parseCampaign, type CampaignSpec, type CampaignSource, type TaskDefinition } from "./spec.js";
export { expandGraph, whereMatches, type CatalogFile, type PlannedGraph, type PlannedQuantum } from "./graph.js";
export { fetchCatalog, catalogTypes } from "./catalog.js";
export { formatProblem, type SpecProblem } from "./spec-errors.js";
