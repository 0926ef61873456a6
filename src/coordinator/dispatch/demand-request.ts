// The edge of AgentLinkService.SiteDemand: a pilot factory's question, checked
// field by field before the manager sees it (a factory is as untrusted as an agent).
import { ErrorCode, OrreryError } from "../../common/errors.js";
import type { SiteDemandRequest } from "../../gen/orrery/v1/agent_link_pb.js";
import type { PilotShape } from "../workload/index.js";
import { LIMITS } from "./agent-message-rules.js";

const YEAR_S = 365 * 24 * 3600;

export function parseDemandRequest(req: SiteDemandRequest): PilotShape {
  const bad = (field: string, rule: string, got: unknown) =>
    new OrreryError(ErrorCode.INVALID_ARGUMENT, `site demand: ${field} must be ${rule} (got ${JSON.stringify(got)})`);
  if (!LIMITS.site.test(req.site)) throw bad("site", "1..64 of [A-Za-z0-9_.-]", req.site);
  const whole = (field: string, v: number, max: number) => {
    if (!Number.isInteger(v) || v < 1 || v > max) throw bad(field, `a whole number 1..${max}`, v);
    return v;
  };
  return {
    site: req.site,
    cores: whole("cores", req.cores, LIMITS.cores),
    memoryMB: whole("memory_mb", req.memoryMb, LIMITS.memoryMB),
    walltimeS: whole("walltime_s", req.walltimeS, YEAR_S),
  };
}
