import { sql, type Kysely } from 'kysely';

// The audit log and the outbox of signed webhooks.
// - audit_events is append-only: one row per event, its id a UUIDv7 made by
//   roost (sortable by time), listed newest first by (occurred_at, id), for
//   everyone, for a user or for a type. No foreign keys: an event outlives
//   the user and the session it names (account.deleted must stay).
// - webhook_deliveries holds one row per event while a webhook is
//   configured, written in the event's transaction; its id is the event's
//   (the webhook-id receivers deduplicate by) and its payload the exact body
//   every attempt sends. A pending row is due at next_attempt_at; a worker
//   that claims it moves next_attempt_at forward by its lease.
// Frozen once released: change the schema with a new migration.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('audit_events')
    .addColumn('id', 'uuid', (col) => col.primaryKey())
    .addColumn('occurred_at', 'timestamptz', (col) => col.notNull())
    .addColumn('type', 'text', (col) => col.notNull())
    .addColumn('user_id', 'uuid')
    .addColumn('session_id', 'uuid')
    .addColumn('ip', 'text')
    .addColumn('user_agent', 'text')
    .addColumn('outcome', 'text', (col) => col.notNull())
    .addColumn('detail', 'jsonb', (col) => col.notNull().defaultTo(sql`'{}'::jsonb`))
    .execute();
  // Each listing walks one of these backwards from its cursor; the purge walks the first forwards.
  await db.schema.createIndex('audit_events_occurred_at').on('audit_events').columns(['occurred_at', 'id']).execute();
  await db.schema
    .createIndex('audit_events_user_id_occurred_at')
    .on('audit_events')
    .columns(['user_id', 'occurred_at', 'id'])
    .where(sql.ref('user_id'), 'is not', null)
    .execute();
  await db.schema.createIndex('audit_events_type_occurred_at').on('audit_events').columns(['type', 'occurred_at', 'id']).execute();

  await db.schema
    .createTable('webhook_deliveries')
    .addColumn('id', 'uuid', (col) => col.primaryKey())
    .addColumn('event_type', 'text', (col) => col.notNull())
    // The event's time: a delivery is given up WEBHOOK_MAX_AGE after it.
    .addColumn('created_at', 'timestamptz', (col) => col.notNull())
    .addColumn('payload', 'text', (col) => col.notNull())
    // pending, delivered or failed.
    .addColumn('status', 'text', (col) => col.notNull())
    // Each claim adds one, and a claim's result is recorded only while it is still the last one.
    .addColumn('attempts', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'timestamptz', (col) => col.notNull())
    .addColumn('last_attempt_at', 'timestamptz')
    .addColumn('last_status', 'integer')
    .addColumn('last_error', 'text')
    .addColumn('delivered_at', 'timestamptz')
    .execute();
  // The worker's claim (pending rows that are due).
  await db.schema.createIndex('webhook_deliveries_status_next_attempt_at').on('webhook_deliveries').columns(['status', 'next_attempt_at']).execute();
  // The listing of pending or failed deliveries newest first, the oldest pending one, and the purge of finished ones.
  await db.schema.createIndex('webhook_deliveries_status_created_at').on('webhook_deliveries').columns(['status', 'created_at', 'id']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('webhook_deliveries').execute();
  await db.schema.dropTable('audit_events').execute();
}
