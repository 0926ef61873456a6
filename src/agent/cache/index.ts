export { openAgentStore, type AgentStore } from "./agent-store.js";
export { DEFAULT_CHUNK_BYTES, FileCache, type CacheEntryMeta, type CacheRead, type CacheStats, type FileCacheOptions } from "./file-cache.js";
export { Journal, type InFlightLease } from "./journal.js";
