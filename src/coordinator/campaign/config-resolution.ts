export type ConfigValue = string | number | boolean;

export interface ConfigSetting {
  value: ConfigValue;
  source: string; // "pipeline FILE:LINE", "campaign FILE:LINE", "--config"
}

/** A task's resolved config, each key with the places that set it, last wins. */
export type ResolvedConfig = Record<string, { value: ConfigValue; history: ConfigSetting[] }>;

export interface ConfigLayer {
  /** Where the layer's values were written; per key when they sit on different lines. */
  source: string | ((key: string) => string);
  values: Record<string, ConfigValue>;
}

export function resolveConfig(layers: readonly ConfigLayer[]): ResolvedConfig {
  const out: ResolvedConfig = {};
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer.values)) {
      const entry = (out[key] ??= { value, history: [] });
      entry.value = value;
      entry.history.push({ value, source: typeof layer.source === "string" ? layer.source : layer.source(key) });
    }
  }
  return out;
}

export function configValues(config: ResolvedConfig): Record<string, ConfigValue> {
  return Object.fromEntries(Object.entries(config).map(([k, v]) => [k, v.value]));
}

/** Parses `task.key=value` (value as number/boolean when it looks like one). */
export function parseOverride(text: string): { task: string; key: string; value: ConfigValue } | undefined {
  const m = /^([A-Za-z][A-Za-z0-9_-]{0,62})\.([A-Za-z0-9_.-]+)=(.*)$/.exec(text);
  if (!m) return undefined;
  return { task: m[1]!, key: m[2]!, value: coerce(m[3]!) };
}

function coerce(raw: string): ConfigValue {
  if (raw === "true") return true;
  if (raw === "false") return false;
  if (raw.trim() !== "" && Number.isFinite(Number(raw))) return Number(raw);
  return raw;
}
