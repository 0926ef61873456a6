// The coordinator's metrics folder's door: the metrics (a workload observer,
// with the agents and lease timings the dispatcher gives) and how stage-in
// bytes are told apart.
export { CoordinatorMetrics, OUTCOME_LABELS, type ConnectedAgent } from "./coordinator-metrics.js";
export { stageInBytes, StageSources, type StageSource } from "../../common/provenance-figures.js";
