/**
 * Wiring of AI services (issue 19): a service's `llm:` section becomes the front door's models and
 * backends (each hosted provider's key read from the environment variable the config names), and
 * the gateway's pipeline gains the `llm` stage after `record`. Services without `llm:` are untouched.
 */
import { readFileSync } from 'node:fs';
import { parseDuration } from '../core/duration.js';
import { LuascaleError } from '../core/errors.js';
import type { Config } from '../config/schema.js';
import type { LlmConfig } from '../config/llm-schema.js';
import { DEFAULT_STAGES } from '../gateway/gateway.js';
import type { Stage } from '../gateway/pipeline/compose.js';
import {
  createLlmModels,
  createLlmStage,
  type BackendOptions,
  type LlmModelOptions,
  type LlmService,
  type LlmStageOptions,
} from '../llm/front-door/index.js';
import { createLlmAdmitStage } from '../llm/cold-start/llm-admit-stage.js';
import { llmAdmitServices } from './llm-cold-start.js';

/** Whether any service of the config is an AI service. */
export function usesLlm(config: Config): boolean {
  return Object.values(config.services).some((s) => s.llm !== undefined);
}

/**
 * The gateway's stages with the `llm` stage right after `record`, preceded by `gate` when given
 * (llm-admit: admission for AI services served by their own instances, src/app/llm-cold-start.ts).
 */
export function stagesWithLlm(llm: Stage, gate?: Stage): Stage[] {
  const out: Stage[] = [];
  for (const s of DEFAULT_STAGES) {
    out.push(s);
    if (s.name !== 'record') continue;
    if (gate !== undefined) out.push(gate);
    out.push(llm);
  }
  return out;
}

/** The front door of a config: its stage and what closes its hosted providers' pools. */
export interface FrontDoor {
  stage: Stage;
  stages: Stage[];
  close(): Promise<void>;
}

/**
 * The front door for the config's AI services, or undefined when it has none. A hosted backend
 * whose key variable is unset refuses the start (LS_ERR_CONFIG_ENV naming the file and line).
 */
export function frontDoorFromConfig(
  loaded: { config: Config; file: string },
  options: Omit<LlmStageOptions, 'services'> & { env?: NodeJS.ProcessEnv } = {},
): FrontDoor | undefined {
  const { config, file } = loaded;
  if (!usesLlm(config)) return undefined;
  const env = options.env ?? process.env;
  const services = new Map<string, LlmService>();
  const closers: (() => Promise<void>)[] = [];
  for (const [name, svc] of Object.entries(config.services)) {
    if (svc.llm === undefined) continue;
    const built = createLlmModels(modelOptions(svc.llm, { env, file, service: name }));
    // the llm balancer (llm.routing.balancer, default llm) routes by the prompt's prefix
    services.set(name, {
      models: built.models,
      prefixRouting: (svc.llm.routing?.balancer ?? 'llm') === 'llm',
    });
    closers.push(built.close);
  }
  const stage = createLlmStage({ ...options, services });
  return {
    stage,
    stages: stagesWithLlm(stage, createLlmAdmitStage(llmAdmitServices(config))),
    close: async () => {
      await Promise.all(closers.map((c) => c()));
    },
  };
}

function modelOptions(
  llm: LlmConfig,
  at: { env: NodeJS.ProcessEnv; file: string; service: string },
): Record<string, LlmModelOptions> {
  const out: Record<string, LlmModelOptions> = {};
  for (const [model, m] of Object.entries(llm.models)) {
    const backends = m.backends.map((b, i): BackendOptions => {
      if ('instances' in b) return { instances: { format: b.instances.format, model: b.instances.model } };
      const h = 'openai' in b ? b.openai : b.anthropic;
      const key = at.env[h.api_key_env];
      if (key === undefined || key === '')
        throw new LuascaleError('LS_ERR_CONFIG_ENV', {
          file: at.file,
          line: lineOf(at.file, h.api_key_env),
          path: `services.${at.service}.llm.models.${model}.backends.${i}`,
          name: h.api_key_env,
        });
      const hosted = { base_url: h.base_url, api_key: key, ...(h.model ? { model: h.model } : {}) };
      return 'openai' in b ? { openai: hosted } : { anthropic: hosted };
    });
    out[model] = {
      backends,
      ttftMs: parseDuration(m.ttft_timeout),
      interTokenMs: parseDuration(m.inter_token_timeout),
      maxTokensDefault: m.max_tokens_default,
    };
  }
  return out;
}

/** The line of the config that names `word` (for the error), or 0 when it cannot be read. */
function lineOf(file: string, word: string): number {
  try {
    const lines = readFileSync(file, 'utf8').split('\n');
    const i = lines.findIndex((l) => l.includes(word));
    return i + 1;
  } catch {
    return 0;
  }
}
