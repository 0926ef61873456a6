// The settings door: every flag, environment variable and settings-file key of
// the three services, their schemas and defaults (precedence flag > env > file > default).
export { AGENT_DEFAULTS, COORDINATOR_DEFAULTS, DBB_DEFAULTS, DEFAULT_PREFETCH, HEARTBEAT_MS, LOCALITY_DELAY_MS } from "./defaults.js";
export { AGENT_SETTINGS, COORDINATOR_SETTINGS, DBB_SETTINGS } from "./services.js";
export { addSettingOptions, resolveSettings, serviceSchema, type Resolved, type SettingSource, type SettingSpec, type SettingSpecs, type SettingsInput } from "./define.js";
