// The kinds of value a setting takes, each accepting what a flag or variable
// gives (a string) and what a YAML file gives (a number, a boolean), with a
// message that says what is expected.
import { parseDuration } from "../duration.js";
import { z } from "../zod.js";

const asText = (v: unknown) => (typeof v === "number" || typeof v === "boolean" ? String(v) : v);

export const text = (what: string) => z.preprocess(asText, z.string({ error: `must be ${what}` }).min(1, `must be ${what}`));

/** Text matching `re`; `rule` says how it must look. */
export const matching = (re: RegExp, rule: string) => z.preprocess(asText, z.string({ error: rule }).regex(re, rule));

export const optionalText = (what: string) => text(what).optional();

/** host:port (port 0: any free port), e.g. 127.0.0.1:9100 or [::1]:9100. */
export const hostPort = z.preprocess(
  asText,
  z.string({ error: "must be host:port, e.g. 127.0.0.1:9100" }).regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):\d{1,5}$/, "must be host:port, e.g. 127.0.0.1:9100 (port 0: any free port)"),
);

/** A NATS server: nats://host:port (tls://, ws://, wss:// too), or host:port as nats.js takes it. */
export const natsUrl = z.preprocess(
  asText,
  z.string({ error: "must be a NATS URL, e.g. nats://127.0.0.1:4222" }).regex(/^((nats|tls|ws|wss):\/\/)?([^\s/@]+@)?[^\s/:@]+(:\d{1,5})?(,\S+)*$/, "must be a NATS URL, e.g. nats://127.0.0.1:4222"),
);

export const url = (scheme: string) =>
  z.preprocess(asText, z.string({ error: `must be a ${scheme}:// URL` }).regex(new RegExp(`^${scheme}s?://\\S+$`), `must be a ${scheme}://host:port URL`));

/** A whole number in [min, max]; `unit` names it in the message. */
export const whole = (min: number, max: number, unit: string) =>
  z.preprocess(
    (v) => (typeof v === "string" && /^\s*-?\d+\s*$/.test(v) ? Number(v) : v),
    z.number({ error: `must be a whole number of ${unit}, ${min}..${max}` }).int(`must be a whole number of ${unit}, ${min}..${max}`).min(min, `must be a whole number of ${unit}, ${min}..${max}`).max(max, `must be a whole number of ${unit}, ${min}..${max}`),
  );

/** A duration (90s, 15m, 2h, 7d or seconds) as milliseconds; `positive`: more than 0. */
export const durationMs = (positive = false) =>
  z.union([z.string(), z.number()], { error: "must be a duration: 90s, 15m, 2h, 7d or seconds" }).transform((v, ctx) => {
    let ms: number;
    try {
      ms = parseDuration(v) * 1000;
    } catch {
      ctx.addIssue({ code: "custom", message: "must be a duration: 90s, 15m, 2h, 7d or seconds" });
      return z.NEVER;
    }
    if (positive && ms <= 0) {
      ctx.addIssue({ code: "custom", message: "must be longer than 0, e.g. 2s" });
      return z.NEVER;
    }
    return ms;
  });

export const oneOf = <const T extends readonly [string, ...string[]]>(values: T) => z.enum(values, { error: `must be one of ${values.join(", ")}` });

/** A boolean flag (given: true), or true/false/on/off/1/0 from env or file. */
export const flag = z.preprocess((v) => {
  if (typeof v !== "string") return v;
  const t = v.trim().toLowerCase();
  return ["true", "on", "1", "yes"].includes(t) ? true : ["false", "off", "0", "no"].includes(t) ? false : v;
}, z.boolean({ error: "must be true or false" }));
