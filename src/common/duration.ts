import { ErrorCode, OrreryError } from "./errors.js";

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** `90s`, `15m`, `2h`, `7d` or a number of seconds → seconds. */
export function parseDuration(value: string | number, field = "duration"): number {
  if (typeof value === "number") {
    if (Number.isFinite(value) && value >= 0) return value;
  } else {
    const m = /^(\d+(?:\.\d+)?)\s*([smhd]?)$/.exec(value.trim());
    if (m) return Number(m[1]) * (UNIT_SECONDS[m[2] || "s"] ?? 1);
  }
  throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `${field}: "${String(value)}" is not a duration`, {
    hint: "write 90s, 15m, 2h, 7d or a number of seconds",
  });
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}
