// The node agent: one per node, pulls quanta from the coordinator, stages
// inputs through its LMDB cache, runs payloads and stages outputs.
export { runAgent, type AgentHandle, type AgentOptions, type NodeKind } from "./agent.js";
export { Outcome } from "./lease-outcome.js";
export { watchSpotNotice, type SpotNotice } from "./preemption/index.js";
