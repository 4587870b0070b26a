/**
 * Maps a service's `provider.exec` and `provider.kubernetes` config sections onto the providers'
 * constructor options. The wiring layer owns this mapping so src/providers/ knows its options, not
 * the config file's format (docs/architecture.md "Layers": providers import only core and the
 * controller's Provider interface). Types only from kubernetes-provider.ts: @kubernetes/client-node
 * is loaded on demand.
 */
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { parseDuration } from '../core/duration.js';
import type { ServiceConfig } from '../config/schema.js';
import type { ExecProviderOptions } from '../providers/exec-provider.js';
import type { KubernetesProviderOptions } from '../providers/kubernetes-provider.js';

/** The `provider.exec` section of luascale.yaml. */
export type ExecConfig = Extract<ServiceConfig['provider'], { exec: unknown }>['exec'];

/** Maps `services.<service>.provider.exec` onto constructor options (cwd relative to `baseDir`). */
export function execOptionsFromConfig(service: string, cfg: ExecConfig, baseDir = '.'): ExecProviderOptions {
  return {
    service,
    scaleCommand: [...cfg.scale_command],
    listCommand: [...cfg.list_command],
    timeoutMs: parseDuration(cfg.timeout),
    pollIntervalMs: parseDuration(cfg.poll_interval),
    cwd: resolve(baseDir, cfg.cwd ?? '.'),
    ...(cfg.env ? { env: { ...cfg.env } } : {}),
  };
}

/** The `provider.kubernetes` section of luascale.yaml. */
export type KubernetesConfig = Extract<ServiceConfig['provider'], { kubernetes: unknown }>['kubernetes'];

/** Maps `services.<service>.provider.kubernetes` onto constructor options (paths relative to `baseDir`). */
export function kubernetesOptionsFromConfig(
  service: string,
  cfg: KubernetesConfig,
  baseDir = '.',
): KubernetesProviderOptions {
  const kubeconfig = cfg.kubeconfig?.startsWith('~/')
    ? resolve(homedir(), cfg.kubeconfig.slice(2))
    : cfg.kubeconfig;
  return {
    service,
    kind: cfg.kind,
    name: cfg.name,
    namespace: cfg.namespace,
    ...(cfg.service !== undefined ? { kubeService: cfg.service } : {}),
    ...(cfg.port !== undefined ? { port: cfg.port } : {}),
    scheme: cfg.scheme,
    route: cfg.route,
    ...(cfg.service_url !== undefined ? { serviceUrl: cfg.service_url } : {}),
    ...(kubeconfig !== undefined ? { kubeconfig: resolve(baseDir, kubeconfig) } : {}),
    deletionCost: cfg.deletion_cost,
  };
}
