// How a service's settings are declared and resolved: each setting has a zod
// schema, at most one flag, at most one environment variable, a key in the
// optional YAML file (`--config FILE`) and its default (defaults.ts).
// Precedence: flag > env > file > default. A bad value is exit 2, naming the
// setting and where it came from (the flag, the variable, FILE:LINE).
import { readFileSync } from "node:fs";
import { Option, type Command } from "commander";
import { ErrorCode, OrreryError } from "../errors.js";
import { PositionedYaml, formatProblem } from "../yaml-problems.js";
import { z } from "../zod.js";

export type SettingSource = "flag" | "env" | "file" | "default";

export interface SettingSpec<T = unknown> {
  /** Commander's flag with its argument (`--listen <host:port>`), or a boolean flag (`--transfers-only`); none: env or file only. */
  flag?: string;
  env?: string;
  /** false: not read from the settings file (secrets come by environment only). */
  file?: boolean;
  help: string;
  /** What the default is, for --help (when it is not the value itself, e.g. "all of this machine's"). */
  defaultText?: string;
  schema: z.ZodType<T>;
}

export type SettingSpecs = Record<string, SettingSpec>;

/** The settings a service resolved, with where each came from. */
export type Resolved<S extends SettingSpecs> = { [K in keyof S]: S[K] extends SettingSpec<infer T> ? T : never };

export interface SettingsInput {
  /** Commander's option values (attribute names: camelCase of the flag). */
  flags: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
  /** --config FILE */
  configFile?: string | undefined;
}

/** camelCase attribute commander gives a flag: `--lease-ttl <ms>` → leaseTtl. */
export function flagAttribute(flag: string): string {
  const long = flag.split(/[ ,]+/).find((p) => p.startsWith("--"))!.slice(2);
  return long.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

export function flagName(flag: string): string {
  return flag.split(/[ ,]+/).find((p) => p.startsWith("--"))!;
}

/** One service's zod schema: every setting, each with its own rule. */
export function serviceSchema<S extends SettingSpecs>(specs: S): z.ZodObject {
  return z.object(Object.fromEntries(Object.entries(specs).map(([k, s]) => [k, s.schema]))).strict();
}

/** Adds every setting's flag (no commander default: the default is the settings module's) and --config FILE. */
export function addSettingOptions(cmd: Command, specs: SettingSpecs, defaults: Record<string, unknown>): Command {
  for (const [key, spec] of Object.entries(specs)) {
    if (spec.flag === undefined) continue;
    const d = spec.defaultText ?? (defaults[key] === undefined ? undefined : String(defaults[key]));
    const env = spec.env !== undefined && !spec.help.includes(`$${spec.env}`) ? `$${spec.env}` : undefined;
    const extra = [env && `env ${env}`, d !== undefined && `default: ${d}`].filter(Boolean).join("; ");
    cmd.addOption(new Option(spec.flag, extra === "" ? spec.help : `${spec.help} (${extra})`));
  }
  cmd.option("--config <file>", "YAML file of settings, keys the long flags in camelCase (--retry-delay 5s → retryDelay: 5s); flags and env override it");
  return cmd;
}

interface Raw {
  value: unknown;
  source: SettingSource;
  /** How the source is named in an error: `--heartbeat "x"`, `$ORRERY_HTTP "x"`, `FILE:LINE: key`. */
  where: string;
}

function readFile(file: string, specs: SettingSpecs): { values: Map<string, Raw>; problems: string[] } {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `--config ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { hint: "give the path of a YAML file of settings" });
  }
  const doc = new PositionedYaml(file, text);
  const syntax = doc.syntaxProblems();
  if (syntax.length > 0) return { values: new Map(), problems: syntax.map(formatProblem) };
  const value = doc.value();
  if (value === null || value === undefined) return { values: new Map(), problems: [] };
  if (typeof value !== "object" || Array.isArray(value)) return { values: new Map(), problems: [`${file}: settings must be a map of setting: value`] };
  const values = new Map<string, Raw>();
  const problems: string[] = [];
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const spec = specs[key];
    const line = doc.lineOf([key]);
    if (spec === undefined || spec.file === false) {
      const known = Object.entries(specs).filter(([, s]) => s.file !== false).map(([k]) => k);
      problems.push(`${file}:${line}: ${key}: ${spec === undefined ? "not a setting of this service" : "is taken from the environment only"}; settings: ${known.join(", ")}`);
      continue;
    }
    values.set(key, { value: v, source: "file", where: `${file}:${line}: ${key}` });
  }
  return { values, problems };
}

/** A value as an error message shows it: a URL's password is never echoed. */
function shown(value: string): string {
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/\s]*:)[^@/\s]*@/i, "$1***@");
}

/** Each setting by precedence (flag > env > file > default), validated; throws INVALID_ARGUMENT (exit 2) naming every bad one. */
export function resolveSettings<S extends SettingSpecs>(service: string, specs: S, defaults: Record<string, unknown>, input: SettingsInput): Resolved<S> & { sources: Record<keyof S, SettingSource> } {
  const env = input.env ?? process.env;
  const file = input.configFile !== undefined ? readFile(input.configFile, specs) : { values: new Map<string, Raw>(), problems: [] };
  const problems = [...file.problems];
  const out: Record<string, unknown> = {};
  const sources: Record<string, SettingSource> = {};
  for (const [key, spec] of Object.entries(specs)) {
    let raw: Raw | undefined;
    if (spec.flag !== undefined) {
      const v = input.flags[flagAttribute(spec.flag)];
      if (v !== undefined) raw = { value: v, source: "flag", where: `${flagName(spec.flag)}${typeof v === "string" ? ` "${shown(v)}"` : ""}` };
    }
    if (raw === undefined && spec.env !== undefined) {
      const v = env[spec.env];
      if (v !== undefined && v !== "") raw = { value: v, source: "env", where: `$${spec.env} "${shown(v)}"` };
    }
    raw ??= file.values.get(key);
    raw ??= { value: defaults[key], source: "default", where: `the default of ${key}` };
    if (raw.source === "default" && raw.value === undefined && !spec.schema.safeParse(undefined).success) {
      const ways = [spec.flag && `give ${flagName(spec.flag)}`, spec.env && `set $${spec.env}`, spec.file !== false && `write ${key}: in --config FILE`].filter(Boolean);
      problems.push(`${key} is required: ${ways.join(", or ")}`);
      continue;
    }
    const parsed = spec.schema.safeParse(raw.value);
    if (parsed.success) {
      out[key] = parsed.data;
      sources[key] = raw.source;
    } else {
      problems.push(`${raw.where}: ${parsed.error.issues.map((i) => i.message).join("; ")}`);
    }
  }
  if (problems.length > 0) {
    throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `${service}: ${problems.length === 1 ? "a bad setting" : `${problems.length} bad settings`}:\n${problems.join("\n")}`, {
      hint: "fix the flag, environment variable or --config file line above",
    });
  }
  return { ...(out as Resolved<S>), sources: sources as Record<keyof S, SettingSource> };
}
