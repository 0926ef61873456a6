import { pino, type Logger } from "pino";

export type { Logger } from "pino";

const root: Logger = pino({
  level: process.env["ORRERY_LOG_LEVEL"] ?? "info",
  base: { pid: process.pid },
  timestamp: pino.stdTimeFunctions.isoTime,
});

/** One child logger per component: `{component, agentId, campaign, …}`. */
export function createLogger(component: string, bindings: Record<string, unknown> = {}): Logger {
  return root.child({ component, ...bindings });
}
