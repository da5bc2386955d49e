// Reading the audit log for the admin API (newest first, a keyset page at a
// time, by user, type and time), and deleting what is past AUDIT_RETENTION.
import { withDatabase, type Db } from '../store/db.js';
import { deleteFinishedDeliveries } from '../webhooks/outbox.js';
import { encodeCursor, type Cursor } from './cursor.js';
import { isAuditEventType, type AuditEvent, type AuditOutcome } from './events.js';

export const MAX_PAGE = 200;

export interface AuditQuery {
  readonly userId?: string;
  readonly type?: string;
  /** Events at or after this time. */
  readonly since?: Date;
  /** Events before this time. */
  readonly until?: Date;
  /** 1 to MAX_PAGE; larger asks get MAX_PAGE. */
  readonly limit: number;
  /** nextCursor of the page before (decodeCursor of what the client sent). */
  readonly cursor?: Cursor;
}

export interface AuditPage {
  readonly events: AuditEvent[];
  /** Give it back for the next page; undefined on the last one. */
  readonly nextCursor: string | undefined;
}

export async function listAuditEvents(db: Db, query: AuditQuery): Promise<AuditPage> {
  const limit = Math.min(Math.max(1, Math.floor(query.limit)), MAX_PAGE);
  let select = db.selectFrom('audit_events').selectAll();
  if (query.userId !== undefined) select = select.where('user_id', '=', query.userId);
  if (query.type !== undefined) select = select.where('type', '=', query.type);
  if (query.since !== undefined) select = select.where('occurred_at', '>=', query.since);
  if (query.until !== undefined) select = select.where('occurred_at', '<', query.until);
  const cursor = query.cursor;
  // A row comparison: Postgres walks the (…, occurred_at, id) index from the cursor on.
  if (cursor) select = select.where((eb) => eb(eb.refTuple('occurred_at', 'id'), '<', eb.tuple(cursor.time, cursor.id)));
  const rows = await withDatabase(() => select.orderBy('occurred_at', 'desc').orderBy('id', 'desc').limit(limit + 1).execute());
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    events: page.flatMap((row) =>
      // A type this version does not know (written by a newer one) is left out rather than mistyped.
      isAuditEventType(row.type)
        ? [
            {
              id: row.id,
              occurredAt: row.occurred_at,
              type: row.type,
              userId: row.user_id,
              sessionId: row.session_id,
              ip: row.ip,
              userAgent: row.user_agent,
              outcome: row.outcome as AuditOutcome,
              detail: row.detail,
            },
          ]
        : [],
    ),
    nextCursor: rows.length > limit && last ? encodeCursor({ time: last.occurred_at, id: last.id }) : undefined,
  };
}

/** Deletes up to `limit` events at or before `cutoff`; how many went. */
export async function deleteAuditEvents(db: Db, cutoff: Date, limit: number): Promise<number> {
  const result = await withDatabase(() =>
    db
      // Materialized: the batch is chosen once (inlined, the LIMIT could be applied again and take more).
      .with(
        (cte) => cte('expired').materialized(),
        (qb) => qb.selectFrom('audit_events').select('id').where('occurred_at', '<=', cutoff).limit(limit).forUpdate().skipLocked(),
      )
      .deleteFrom('audit_events')
      .using('expired')
      .whereRef('audit_events.id', '=', 'expired.id')
      .executeTakeFirst(),
  );
  return Number(result.numDeletedRows);
}

export interface ExpiredRows {
  readonly events: number;
  readonly deliveries: number;
}

/**
 * One batch of the purge: up to `limit` events and up to `limit` finished
 * deliveries (delivered or failed) whose event is at or before `cutoff`. A
 * pending delivery stays until its worker delivers it or gives it up.
 */
export async function deleteExpiredAuditRows(db: Db, cutoff: Date, limit: number): Promise<ExpiredRows> {
  const events = await deleteAuditEvents(db, cutoff, limit);
  const deliveries = await deleteFinishedDeliveries(db, cutoff, limit);
  return { events, deliveries };
}
