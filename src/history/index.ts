export { type MemoryHistoryOptions, MemoryHistoryStore } from "./memory-history.ts";
export { RedisHistoryStore } from "./redis-history.ts";
export * from "./types.ts";
