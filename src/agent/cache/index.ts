export { openAgentStore, type AgentStore } from "./agent-store.js";
export { FileCache, type CacheEntryMeta, type CacheStats } from "./file-cache.js";
export { Journal, type InFlightLease } from "./journal.js";
