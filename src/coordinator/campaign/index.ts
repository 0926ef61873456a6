export { parseCampaign, type CampaignSpec, type CampaignSource, type TaskDefinition } from "./spec.js";
export { expandGraph, whereMatches, type CatalogFile, type PlannedDataset, type PlannedGraph, type PlannedQuantum } from "./graph.js";
export { fetchCatalog, catalogTypes, catalogFromFiles } from "./catalog.js";
export { formatProblem, type SpecProblem } from "./spec-errors.js";
export { CampaignFileSchema, CAMPAIGN_NAME, TASK_NAME, TASK_NAME_RULE } from "./spec-schema.js";
export { quantumIdentity, graphIdentityBytes, identityHex, canonicalJson, IDENTITY_BYTES, type IdentityParts, type InputToken } from "./identity.js";
export { deferredClosure, tasksToExpand, expansionSpec, producedInputTypes } from "./deferred.js";
export { parseCampaignIsolated, closeCampaignParser, checkCampaignSizes } from "./spec-parser.js";
