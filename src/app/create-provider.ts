/**
 * One service's provider, built from its config and wired to the gateway: process, static, exec
 * or Kubernetes (loaded on demand), and the events that move instances in and out of the pool.
 */
import { resolve } from 'node:path';
import type { Clock } from '../core/clock.js';
import { parseDuration } from '../core/duration.js';
import type { ServiceConfig } from '../config/schema.js';
import type { GatewayControl } from '../gateway/start-gateway.js';
import type { Provider } from '../controller/provider.js';
import { ProcessProvider } from '../providers/process-provider.js';
import { StaticProvider } from '../providers/static-provider.js';
import { ExecProvider } from '../providers/exec-provider.js';
import type { Store } from '../store/index.js';
import { warmUpOf } from './llm-cold-start.js';
import { execOptionsFromConfig, kubernetesOptionsFromConfig } from './provider-options.js';

/** What `createProvider` wires a provider to. */
export interface CreateProviderOptions {
  baseDir: string;
  /** Process instances are recorded in its instance store (for adoption after a restart). */
  store: Store;
  /** Drains go through the gateway (stop routing, wait for in-flight requests). */
  gateway: GatewayControl;
  clock: Clock;
  log: (line: string) => void;
}

/** Builds the provider a service's `provider:` section names; waits for a first list where there is one. */
export async function createProvider(
  name: string,
  svc: ServiceConfig,
  options: CreateProviderOptions,
): Promise<Provider> {
  const { baseDir, store, gateway, clock, log } = options;
  const p = svc.provider;
  const drainHook = (timeoutMs: number) => async (inst: { id: string }) => {
    await gateway.drain(name, inst.id, { timeoutMs });
  };
  if ('process' in p) {
    const pr = p.process;
    return new ProcessProvider({
      service: name,
      command: [...pr.command],
      cwd: resolve(baseDir, pr.cwd ?? '.'),
      env: { ...pr.env },
      portEnv: pr.port_env,
      healthPath: pr.health_path,
      readiness: {
        intervalMs: 100,
        timeoutMs: 1000,
        startTimeoutMs: parseDuration(pr.start_timeout),
        warmUp: warmUpOf(svc), // an AI service's instance is ready after a 1-token completion too
      },
      stopGraceMs: parseDuration(pr.stop_grace),
      logDir: resolve(baseDir, pr.log_dir ?? '.luascale/logs'),
      memoryLimitBytes: pr.memory_limit_mb ? pr.memory_limit_mb * 1024 * 1024 : undefined,
      instanceStore: store.instances,
      drainHook: drainHook(parseDuration(pr.stop_grace)),
      clock,
      onError: (err, context) => log(`${name}: ${context}: ${(err as Error)?.message ?? err}`),
    });
  }
  if ('static' in p) return new StaticProvider({ service: name, targets: [...p.static.targets] });
  if ('exec' in p) {
    const ep = new ExecProvider({
      ...execOptionsFromConfig(name, p.exec, baseDir),
      clock,
      drainHook: drainHook(30_000),
      onError: (err) => log(`${name}: ${(err as Error)?.message ?? err}`),
    });
    // A failing first list is logged (onError) and retried with back-off: start with no targets.
    await ep.whenSynced().catch(() => {});
    return ep;
  }
  // Loaded on demand: @kubernetes/client-node is large and only this provider needs it.
  const { KubernetesProvider } = await import('../providers/kubernetes-provider.js');
  const kp = new KubernetesProvider({
    ...kubernetesOptionsFromConfig(name, p.kubernetes, baseDir),
    clock,
    drainHook: drainHook(30_000),
    onError: (err) => log(`${name}: ${(err as Error)?.message ?? err}`),
  });
  await kp.whenSynced();
  return kp;
}

/** Moves instances in and out of the gateway's pool as the provider reports them (not in cluster mode: the registry does). */
export function wireProviderToGateway(
  provider: Provider,
  gateway: GatewayControl,
  options: { name: string; log: (line: string) => void; route?: boolean },
): void {
  const { name, log, route = true } = options;
  provider.on('ready', (inst) => {
    if (route) gateway.addInstance(name, { id: inst.id, url: inst.url });
    log(`${name}: instance ${inst.id} ready at ${inst.url}${inst.adopted ? ' (adopted)' : ''}`);
  });
  provider.on('unready', (inst) => {
    // Not ready is not routed; the `ready` above puts it back when it recovers.
    if (route) gateway.removeInstance(name, inst.id);
    log(`${name}: instance ${inst.id} is not ready; not routed until it is`);
  });
  provider.on('exited', (inst, exit) => {
    if (route) gateway.removeInstance(name, inst.id);
    if (exit.killedBy === 'luascale')
      log(
        `${name}: instance ${inst.id} was killed by luascale (${exit.signal ?? 'SIGKILL'}): ${exit.reason}`,
      );
    else if (!exit.expected)
      log(`${name}: instance ${inst.id} exited unexpectedly (code ${exit.code}, signal ${exit.signal})`);
  });
  provider.on('failed', (inst, reason) => {
    if (route) gateway.removeInstance(name, inst.id);
    log(`${name}: instance ${inst.id} failed: ${reason}`);
  });
  if (route)
    for (const inst of provider.list())
      if (inst.state === 'ready') gateway.addInstance(name, { id: inst.id, url: inst.url });
}
