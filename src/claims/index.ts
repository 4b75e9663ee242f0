export * from "./claim-value.ts";
export { MemoryClaimStore, type MemoryClaimStoreOptions } from "./memory-claims.ts";
export { RedisClaimStore, type RedisClaimStoreOptions, seenKey } from "./redis-claims.ts";
export * from "./types.ts";
