/** The gateway's public surface. */
export { createGateway, sendError } from './gateway.js';
export type {
  Gateway,
  GatewayOptions,
  GatewayRoute,
  InstanceView,
  ProxyTraffic,
  ServiceOptions,
} from './gateway.js';
export { startGateway, exitOnSignals, divideTraffic } from './start-gateway.js';
export type { GatewayHandle, StartGatewayOptions } from './start-gateway.js';
export type { InstanceSpec, HealthOptions, UpstreamOptions, HealthEvent } from './upstream-pool.js';
export type { BalancerOptions, Balancer, Endpoint, PickContext } from './balancer.js';
export { createBalancer } from './balancer.js';
export { createRouter } from './router.js';
export type { Router, Route, RouteOptions } from './router.js';
export type { HealthStatus } from './health-state.js';
