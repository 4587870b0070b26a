/** The usage ledger's types (they live in the store, the lower layer; the SQLite and Redis ledgers implement them). */
export type {
  UsageFilter,
  UsageGroupKey,
  UsageLedger,
  UsageOutcome,
  UsageRow,
  UsageSource,
  UsageSummaryRow,
} from '../../store/usage-ledger.js';
