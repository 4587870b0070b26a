/** A gateway with one AI service in front of in-process llm-sims, for the front door's tests. */
import { createGateway, type KeyVerifier } from '../../../src/gateway/gateway.js';
import type { Balancer } from '../../../src/gateway/balancer.js';
import { startLlmSim, type LlmSim, type LlmSimOptions } from '../../../src/llm-sim/index.js';
import {
  createLlmModels,
  createLlmStage,
  llmErrorBody,
  type LlmModelOptions,
  type LlmStageOptions,
} from '../../../src/llm/front-door/index.js';
import { stagesWithLlm } from '../../../src/app/llm-wiring.js';
import type { UsageRow } from '../../../src/store/usage-ledger.js';

/** What a test runs against. */
export interface Door {
  base: string;
  /** The service's own instances. */
  sims: LlmSim[];
  /** llm-sims outside the pool (hosted backends). */
  extra: LlmSim[];
  /** Every ledger row, in the order calls ended. */
  rows: UsageRow[];
  /** Resolves with the next ledger row. */
  nextRow(): Promise<UsageRow>;
  close(): Promise<void>;
}

/** Options of {@link startDoor}. */
export interface DoorOptions {
  /** The service's instances (llm-sim options each); default one with `api: 'both'`. */
  instances?: Partial<LlmSimOptions>[];
  /** llm-sims outside the service's pool, for hosted backends. */
  extra?: Partial<LlmSimOptions>[];
  /** Models by name (given the instances and the extra sims); default `m` on the instances. */
  models?: (sims: LlmSim[], extra: LlmSim[]) => Record<string, LlmModelOptions>;
  keys?: KeyVerifier;
  stage?: Omit<LlmStageOptions, 'services'>;
  maxBody?: number;
  /** The service's balancer (default the gateway's). */
  balancer?: Balancer;
  /** Register prompt prefixes for the llm balancer. */
  prefixRouting?: boolean;
}

const FAST: Partial<LlmSimOptions> = {
  port: 0,
  api: 'both',
  models: ['m'],
  timeScale: 0.001,
  outputTokens: { min: 4, max: 12 },
};

/** Model `m` on the service's instances (format openai), with generous timeouts. */
export function instancesModel(format: 'openai' | 'anthropic' = 'openai'): LlmModelOptions {
  return { backends: [{ instances: { format } }], ttftMs: 5000, interTokenMs: 5000, maxTokensDefault: 64 };
}

/** Starts the sims and the gateway. */
export async function startDoor(o: DoorOptions = {}): Promise<Door> {
  const sims = await Promise.all((o.instances ?? [{}]).map((s) => startLlmSim({ ...FAST, ...s })));
  const extra = await Promise.all((o.extra ?? []).map((s) => startLlmSim({ ...FAST, ...s })));
  const rows: UsageRow[] = [];
  const waiters: ((r: UsageRow) => void)[] = [];
  const built = createLlmModels(o.models?.(sims, extra) ?? { m: instancesModel() });
  const stage = createLlmStage({
    ...o.stage,
    services: new Map([['ai', { models: built.models, prefixRouting: o.prefixRouting }]]),
    ledger: {
      append(row) {
        rows.push(row);
        waiters.shift()?.(row);
      },
    },
  });
  const maxBody = o.maxBody ?? 1024 * 1024;
  const gw = createGateway({
    services: {
      ai: {
        routes: [{ path_prefix: '/' }],
        traffic: { max_body: maxBody, request_buffer: maxBody },
        instances: sims.map((s, i) => ({ id: `sim${i}`, url: s.url })),
        errorBody: llmErrorBody,
        ...(o.balancer ? { balancer: { custom: o.balancer } } : {}),
        ...(o.keys ? { auth: 'key' as const } : {}),
      },
    },
    stages: stagesWithLlm(stage),
    ...(o.keys ? { keys: o.keys } : {}),
  });
  const addr = await gw.listen(0, '127.0.0.1');
  return {
    base: `http://127.0.0.1:${addr.port}`,
    sims,
    extra,
    rows,
    nextRow: () => new Promise((resolve) => waiters.push(resolve)),
    close: async () => {
      await gw.close({ graceMs: 0 });
      await built.close();
      await Promise.all([...sims, ...extra].map((s) => s.close()));
    },
  };
}
