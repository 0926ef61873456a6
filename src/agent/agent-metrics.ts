// The agent's Prometheus metrics (`--metrics ADDR`): payloads running, free
// cores, cache use (read at scrape time), and per ended attempt its outcome
// and the bytes it staged in (by source: its cache, an RSE of its own site,
// one elsewhere) and out.
import { Counter, Gauge, type Registry } from "prom-client";
import { createMetricsRegistry, enumLabel } from "../common/metrics.js";
import { StageSources, stageInBytes } from "../common/provenance-figures.js";
import { attemptOutcomes } from "../common/wire-enums.js";
import type { QuantumResult } from "../gen/orrery/v1/agent_link_pb.js";

const OUTCOMES: ReadonlySet<string> = new Set(attemptOutcomes.names);

/** What the agent shows at scrape time. */
export interface AgentGauges {
  running: () => number;
  freeCores: () => number;
  cores: number;
  cacheBytes: () => number;
  cacheBudgetBytes: number;
}

export class AgentMetrics {
  readonly registry: Registry;
  private readonly attempts: Counter<"outcome">;
  private readonly stageIn: Counter<"source">;
  private readonly stageOut: Counter;

  constructor(
    gauges: AgentGauges,
    /** This agent's site. */
    private readonly site: string,
    /** Every RSE's site (the dbb's list, cached); rejected: inputs from RSEs count as other_site. */
    private readonly rseSites: () => Promise<ReadonlyMap<string, string>>,
    registry: Registry = createMetricsRegistry(),
  ) {
    this.registry = registry;
    const registers = [registry];
    this.attempts = new Counter({ name: "orrery_agent_attempts_total", help: "Attempts this agent ended, by outcome (as reported to the coordinator).", labelNames: ["outcome"], registers });
    this.stageIn = new Counter({
      name: "orrery_agent_stage_in_bytes_total",
      help: "Input bytes of this agent's ended attempts by source: cache (its LMDB cache), own_site (an RSE of its site), other_site (an RSE elsewhere).",
      labelNames: ["source"],
      registers,
    });
    this.stageOut = new Counter({ name: "orrery_agent_stage_out_bytes_total", help: "Output bytes this agent's attempts stored at its site's output RSE.", registers });
    new Gauge({ name: "orrery_agent_payloads_running", help: "Leases running on this agent now.", registers, collect: gaugeOf(gauges.running) });
    new Gauge({ name: "orrery_agent_cores", help: "Cores this agent offers.", registers }).set(gauges.cores);
    new Gauge({ name: "orrery_agent_free_cores", help: "Cores of this agent no lease holds now.", registers, collect: gaugeOf(gauges.freeCores) });
    new Gauge({ name: "orrery_agent_cache_bytes", help: "Bytes in this agent's LMDB cache.", registers, collect: gaugeOf(gauges.cacheBytes) });
    new Gauge({ name: "orrery_agent_cache_budget_bytes", help: "This agent's cache budget (--cache-size).", registers }).set(gauges.cacheBudgetBytes);
  }

  /** An attempt's result, journaled and about to go to the coordinator. */
  async resultEnded(result: QuantumResult): Promise<void> {
    this.attempts.inc({ outcome: enumLabel(attemptOutcomes.name(result.outcome), OUTCOMES) });
    const out = result.outputs.reduce((sum, o) => sum + Number(o.bytes), 0);
    if (out > 0) this.stageOut.inc(out);
    if (result.provenanceJson === "") return;
    const sites = await this.rseSites().catch(() => new Map<string, string>());
    const bytes = stageInBytes(result.provenanceJson, this.site, (rse) => sites.get(rse));
    for (const source of StageSources) if (bytes[source] > 0) this.stageIn.inc({ source }, bytes[source]);
  }
}

function gaugeOf(read: () => number): (this: Gauge) => void {
  return function (this: Gauge) {
    this.set(read());
  };
}
