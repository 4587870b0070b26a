/** The store: events, metric history, state and instances behind small interfaces; SQLite now, Redis later. */
export type { Store, PendingWrites, Awaitable } from './store.js';
export type { EventStore, EventInput, EventQuery, EventType, StoredEvent } from './event-store.js';
export { decisionEvent } from './event-store.js';
export type { MetricHistoryStore, HistorySeries, ExportRange } from './metric-history-store.js';
export type { StateStore } from './state-store.js';
export { DECISION_STATE_KEY, policyStateKey } from './state-store.js';
export type { InstanceStore, StoredInstance } from './instance-store.js';
export type { KeyStore, StoredKey } from './key-store.js';
export type {
  UsageFilter,
  UsageGroupKey,
  UsageLedger,
  UsageOutcome,
  UsageRow,
  UsageSource,
  UsageSummaryRow,
} from './usage-ledger.js';
export { USAGE_GROUP_KEYS, matchesUsageFilter, summarizeUsage, utcDay } from './usage-ledger.js';
export type { SqliteUsageLedger } from './sqlite-usage-ledger.js';
export type { HistoryTier, RetentionOptions } from './history-tiers.js';
export { DEFAULT_TIERS, DEFAULT_EVENTS_KEEP_SECONDS, chooseTier, validateTiers } from './history-tiers.js';
export { MIGRATIONS, SCHEMA_VERSION, migrate, schemaVersion } from './migrations.js';
export type { Migration } from './migrations.js';
export { openStore, SqliteStore } from './sqlite-store.js';
export type { OpenStoreOptions } from './open-store-options.js';
export type {
  SqliteEventStore,
  SqliteMetricHistoryStore,
  SqliteStateStore,
  SqliteInstanceStore,
  SqliteKeyStore,
} from './sqlite-parts.js';
