/** Cluster mode: several gateways and one controller leader sharing one Redis. */
export { createClusterNode, type ClusterNode, type ClusterNodeOptions } from './cluster-node.js';
export { RedisRateLimiter, type RedisRateLimiterOptions } from './redis-rate-limiter.js';
export { createLeaderLease, type LeaderLease, type LeaderLeaseOptions } from './leader-lease.js';
export { fencedProvider } from './fenced-provider.js';
export { publishInstances, subscribeInstances } from './instance-registry.js';
export {
  createClusterSignals,
  publishSignals,
  secondAggregate,
  type ClusterSignals,
  type ClusterSnapshot,
} from './cluster-signals.js';
export { gatewayMembership, type GatewayMembership } from './gateway-membership.js';
export { redisScript, type RedisScript } from './redis-script.js';
export {
  createRedisStore,
  redisEventStore,
  redisStateStore,
  redisInstanceStore,
  type RedisStoreOptions,
} from './redis-store.js';
