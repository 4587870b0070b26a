/**
 * Failure injection, by flag (`--fault SPEC`, for a share of requests with `--fault-rate`) or per
 * request (header `x-llm-sim-fault: SPEC`, `none` to turn the flag's fault off). The faults are
 * those a gateway must survive before and after the first byte (LiteLLM #40404: cut, stall,
 * malformed chunk) plus llm-d-inference-sim's injected errors (rate_limit, server_error,
 * context_length, invalid_api_key).
 *
 *   429                  answer 429 rate limit
 *   500                  answer 500 server error
 *   401                  answer 401 invalid API key
 *   context-length       answer 400 context_length_exceeded
 *   cut:K                close the connection after K content chunks (non-streaming: no answer)
 *   malformed:K          after K content chunks send one chunk that is not JSON, then go on
 *   stall:D              stall D before the first token (D a duration such as 2s, or `forever`)
 *   stall-after:K:D      stall D after K content chunks
 */
import { parseDuration } from '../core/duration.js';

/** A parsed fault. */
export type Fault =
  | { kind: 'status'; status: 429 | 500 | 401 }
  | { kind: 'context-length' }
  | { kind: 'cut'; after: number }
  | { kind: 'malformed'; after: number }
  | { kind: 'stall'; after: number; ms: number };

/** The header that carries a per-request fault. */
export const FAULT_HEADER = 'x-llm-sim-fault';

/** The grammar, for --help and errors. */
export const FAULT_SYNTAX =
  '429 | 500 | 401 | context-length | cut:K | malformed:K | stall:D | stall-after:K:D (D: 2s, 500ms or forever)';

function count(text: string | undefined, spec: string): number {
  if (text === undefined || !/^\d+$/.test(text))
    throw new RangeError(`"${spec}": K must be a whole number >= 0`);
  return Number(text);
}

function stallMs(text: string | undefined, spec: string): number {
  if (text === 'forever') return Infinity;
  try {
    return parseDuration(text ?? '');
  } catch {
    throw new RangeError(`"${spec}": expected a duration such as 2s or 500ms, or forever`);
  }
}

/** Parses one fault spec; `none` and '' give undefined; a RangeError names a bad one. */
export function parseFault(spec: string): Fault | undefined {
  const text = spec.trim();
  if (text === '' || text === 'none') return undefined;
  const [name, a, b] = text.split(':');
  switch (name) {
    case '429':
    case '500':
    case '401':
      if (a !== undefined) break;
      return { kind: 'status', status: Number(name) as 429 | 500 | 401 };
    case 'context-length':
      if (a !== undefined) break;
      return { kind: 'context-length' };
    case 'cut':
      if (b !== undefined) break;
      return { kind: 'cut', after: count(a, text) };
    case 'malformed':
      if (b !== undefined) break;
      return { kind: 'malformed', after: count(a, text) };
    case 'stall':
      if (b !== undefined) break;
      return { kind: 'stall', after: 0, ms: stallMs(a, text) };
    case 'stall-after':
      return { kind: 'stall', after: count(a, text), ms: stallMs(b, text) };
  }
  throw new RangeError(`unknown fault "${spec}" (expected ${FAULT_SYNTAX})`);
}
