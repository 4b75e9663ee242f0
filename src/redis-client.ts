import type { Cluster, Redis } from "ioredis";

/**
 * The Redis the stores talk to: one server (a replication group with cluster mode disabled, the
 * local run) or a Redis Cluster (ElastiCache cluster mode, SCL-2). The history and the claims
 * keep every script call within one hash slot, so they run on either.
 */
export type RedisClient = Redis | Cluster;
