// How the coordinator reads a campaign it is sent (plan, submit): the sizes
// are checked first, then the text is parsed and validated in a worker thread
// with memory and time limits, so no file can crash or stall the coordinator.
import { ParsePool, DEFAULT_PARSE_LIMITS, DEFAULT_PARSE_TIMEOUT_MS } from "../../common/parse-pool.js";
import { checkSize } from "../../common/untrusted-text.js";
import type { CampaignSource, CampaignSpec } from "./spec.js";

/** Two workers: a slow file does not hold up every other plan or submit. */
const POOL_SIZE = 2;

let pool: ParsePool | undefined;

function sharedPool(): ParsePool {
  pool ??= new ParsePool({ entry: new URL("./spec-worker.js", import.meta.url), size: POOL_SIZE, limits: DEFAULT_PARSE_LIMITS, timeoutMs: DEFAULT_PARSE_TIMEOUT_MS });
  return pool;
}

/** Size caps of a campaign request's files: refused (SPEC_INVALID) before any parsing. */
export function checkCampaignSizes(src: CampaignSource): void {
  checkSize("campaign", src.sourceName, Buffer.byteLength(src.specYaml));
  if (src.pipelineYaml !== undefined) checkSize("pipeline", src.pipelineSourceName ?? "pipeline file", Buffer.byteLength(src.pipelineYaml));
}

/** parseCampaign off the event loop; throws SPEC_INVALID listing every problem, or naming the cap the file is over. */
export async function parseCampaignIsolated(src: CampaignSource): Promise<CampaignSpec> {
  checkCampaignSizes(src);
  return sharedPool().run<CampaignSpec>("campaign", src);
}

/** Stops the workers (coordinator shutdown, tests); a later parse starts a new pool. */
export async function closeCampaignParser(): Promise<void> {
  const p = pool;
  pool = undefined;
  await p?.close();
}
