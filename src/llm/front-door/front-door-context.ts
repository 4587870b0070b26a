/** What every call of the front door shares: translation, and where its usage record goes. */
import type { Reservation } from '../budget/token-limiter.js';
import type { Usage } from '../formats/usage.js';
import type { EndpointKind } from './endpoints.js';
import type { LlmStreamRecorder } from '../routing/llm-service-signals.js';
import type { Translation } from './translation.js';

/** One finished AI request, as the ledger, the budgets and the metrics read it. */
export interface LlmCallRecord {
  requestId: string;
  service: string;
  /** '' on a route without `auth: key`. */
  consumer: string;
  /** The API key's public id ('' without a key). */
  keyId: string;
  model: string;
  /** `instances:<id>` or `<provider>:<host>`: never a key. */
  backend: string;
  endpoint: EndpointKind;
  stream: boolean;
  /** The HTTP status the client got (499: it left first). */
  status: number;
  outcome: 'completed' | 'error' | 'cut' | 'client_closed';
  usage: Usage;
  /** `estimated`: counted by the tokenizer from what was delivered (a cut stream, a client that left). */
  usageSource: 'reported' | 'estimated';
  /** Time to the first byte to the client (ms from arrival), -1 when none. */
  ttftMs: number;
  durationMs: number;
  /** Epoch ms when the request arrived. */
  time: number;
  reservation: Reservation | undefined;
}

/** Shared by the calls of one front door. */
export interface FrontDoorContext {
  translation: Translation;
  /** Called once per call, when it ends (settles the reservation, appends the ledger row, records metrics). */
  onRecord(record: LlmCallRecord): void;
  /** The service's llm.* stream signals (TTFT, inter-token gaps, tokens, in-flight tokens), if wired. */
  streams?: LlmStreamRecorder;
}
