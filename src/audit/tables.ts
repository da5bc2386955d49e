// The audit log's table as Kysely sees it. Until src/store/db.ts declares it
// in Database, the queries of this folder view the database through
// auditDb(); once it does, auditDb() is the identity and can go.
import type { ColumnType, Kysely } from 'kysely';
import type { Db } from '../store/db.js';

/** One row per event, never updated (migrations/0007_audit_and_webhooks.ts). */
export interface AuditEventsTable {
  /** A UUIDv7: sorts by the time it was made. */
  id: string;
  occurred_at: ColumnType<Date, Date | string, never>;
  type: string;
  user_id: string | null;
  session_id: string | null;
  ip: string | null;
  user_agent: string | null;
  /** success or failure. */
  outcome: string;
  /** A small object of scalars, never a secret (see detail.ts). */
  detail: ColumnType<Record<string, string | number | boolean | null>, string, never>;
}

export interface AuditTables {
  audit_events: AuditEventsTable;
}

/** The database (or a transaction on it) with the audit tables in view. */
export function auditDb(db: Db): Kysely<AuditTables> {
  return db as unknown as Kysely<AuditTables>;
}
