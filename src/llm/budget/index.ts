/** Token budgets of consumers: counting prompts, prices, the TokenLimiter contract and its in-memory implementation. */
export type {
  Charge,
  Reservation,
  ReserveAllowed,
  ReserveDenied,
  ReserveRequest,
  ReserveVerdict,
  SettleActual,
  TokenLimiter,
} from './token-limiter.js';
export { MemoryTokenLimiter, type TokenLimiterOptions } from './memory-token-limiter.js';
export {
  calendarWindow,
  limitHeaders,
  limitsFor,
  windowKey,
  MINUTE_MS,
  type ConsumerLimitsLike,
  type LimitSpec,
  type TokenLimitFields,
  type WindowKind,
} from './token-limits.js';
export { costOf, priceTable, type PriceLike, type PriceTable, type UsageCounts } from './prices.js';
export {
  countPromptTokens,
  maxOutputTokens,
  reservationTokens,
  type PromptFormat,
} from './count-prompt-tokens.js';
