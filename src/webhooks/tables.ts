// The webhook outbox's table as Kysely sees it. Until src/store/db.ts
// declares it in Database, the queries of this folder view the database
// through outboxDb(); once it does, outboxDb() is the identity and can go.
import type { ColumnType, Kysely } from 'kysely';
import type { Db } from '../store/db.js';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

/** One row per event while a webhook is configured (migrations/0007_audit_and_webhooks.ts). */
export interface WebhookDeliveriesTable {
  /** The event's id, sent as webhook-id on every attempt. */
  id: string;
  event_type: string;
  /** The event's time; the delivery is given up WEBHOOK_MAX_AGE after it. */
  created_at: Timestamp;
  /** The exact body of every attempt. */
  payload: string;
  status: ColumnType<DeliveryStatus, DeliveryStatus, DeliveryStatus>;
  /** Claims so far; a claim's result is recorded only while it is the last one. */
  attempts: ColumnType<number, number | undefined, number>;
  /** When a pending delivery is due; while claimed, when the claim's lease ends. */
  next_attempt_at: Timestamp;
  last_attempt_at: NullableTimestamp;
  /** The receiver's HTTP status at the last attempt, null when none came. */
  last_status: ColumnType<number | null, number | null | undefined, number | null>;
  /** Why the last attempt failed, in words (never a secret); null after a success. */
  last_error: ColumnType<string | null, string | null | undefined, string | null>;
  delivered_at: NullableTimestamp;
}

export interface OutboxTables {
  webhook_deliveries: WebhookDeliveriesTable;
}

/** The database (or a transaction on it) with the outbox table in view. */
export function outboxDb(db: Db): Kysely<OutboxTables> {
  return db as unknown as Kysely<OutboxTables>;
}
