// The webhook outbox: one row per event to deliver, written in the event's
// transaction, so an event is delivered if and only if it was recorded, and
// a restart loses nothing. Replicas share the table: a claim takes due rows
// with FOR UPDATE SKIP LOCKED (two workers never take the same row) and
// moves them out of reach until a lease ends, so a worker that dies
// mid-delivery leaves the row to another one after the lease. Every result
// is recorded only by the claim that is still the row's last (attempts is
// the fence): a worker that outlived its lease cannot overwrite a later one.
import { withDatabase, type Db, type DeliveryStatus } from '../store/db.js';
import { encodeCursor, type Cursor } from '../audit/cursor.js';

export interface NewDelivery {
  readonly id: string;
  readonly eventType: string;
  readonly createdAt: Date;
  readonly payload: string;
}

/** Adds a delivery, due at once. Meant to run in the transaction that records the event. */
export async function insertDelivery(db: Db, delivery: NewDelivery): Promise<void> {
  await db
    .insertInto('webhook_deliveries')
    .values({
      id: delivery.id,
      event_type: delivery.eventType,
      created_at: delivery.createdAt,
      payload: delivery.payload,
      status: 'pending',
      next_attempt_at: delivery.createdAt,
    })
    .execute();
}

export interface ClaimedDelivery {
  readonly id: string;
  readonly eventType: string;
  readonly createdAt: Date;
  readonly payload: string;
  /** This claim's number: its result is recorded only while no later claim was made. */
  readonly attempt: number;
}

export interface Claim {
  readonly now: Date;
  /** Until when the claimed rows are out of other workers' reach. */
  readonly leaseUntil: Date;
  /** Rows created at or before this are past WEBHOOK_MAX_AGE: not claimed, failed by failExpiredDeliveries. */
  readonly expiredBy: Date;
  readonly limit: number;
}

/** Takes up to `limit` due deliveries, oldest due first, and leases them to the caller. */
export async function claimDueDeliveries(db: Db, claim: Claim): Promise<ClaimedDelivery[]> {
  const rows = await db
    // Materialized: the locked rows are chosen once (inlined into the UPDATE, the LIMIT could be applied again and take more).
    .with(
      (cte) => cte('due').materialized(),
      (qb) =>
        qb
          .selectFrom('webhook_deliveries')
          .select('id')
          .where('status', '=', 'pending')
          .where('next_attempt_at', '<=', claim.now)
          .where('created_at', '>', claim.expiredBy)
          .orderBy('next_attempt_at')
          .limit(claim.limit)
          .forUpdate()
          .skipLocked(),
    )
    .updateTable('webhook_deliveries')
    .from('due')
    .set((eb) => ({ attempts: eb('webhook_deliveries.attempts', '+', 1), next_attempt_at: claim.leaseUntil, last_attempt_at: claim.now }))
    .whereRef('webhook_deliveries.id', '=', 'due.id')
    .returning(['webhook_deliveries.id', 'webhook_deliveries.event_type', 'webhook_deliveries.created_at', 'webhook_deliveries.payload', 'webhook_deliveries.attempts'])
    .execute();
  return rows
    .map((row) => ({ id: row.id, eventType: row.event_type, createdAt: row.created_at, payload: row.payload, attempt: row.attempts }))
    .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
}

export const EXPIRED_ERROR = 'given up: WEBHOOK_MAX_AGE passed before it could be delivered';

/**
 * Fails up to `limit` pending deliveries that are past WEBHOOK_MAX_AGE and
 * not leased (a roost that was down longer than that finds them so); how many.
 */
export async function failExpiredDeliveries(db: Db, at: { readonly now: Date; readonly expiredBy: Date; readonly limit: number }): Promise<number> {
  const result = await db
    .with(
      (cte) => cte('expired').materialized(),
      (qb) =>
        qb
          .selectFrom('webhook_deliveries')
          .select('id')
          .where('status', '=', 'pending')
          .where('next_attempt_at', '<=', at.now)
          .where('created_at', '<=', at.expiredBy)
          .limit(at.limit)
          .forUpdate()
          .skipLocked(),
    )
    .updateTable('webhook_deliveries')
    .from('expired')
    .set({ status: 'failed', last_error: EXPIRED_ERROR })
    .whereRef('webhook_deliveries.id', '=', 'expired.id')
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

export type AttemptRecord =
  | { readonly status: 'delivered'; readonly at: Date; readonly httpStatus: number }
  | { readonly status: 'pending'; readonly nextAttemptAt: Date; readonly httpStatus: number | null; readonly error: string }
  | { readonly status: 'failed'; readonly httpStatus: number | null; readonly error: string };

/** Records what claim `attempt` of delivery `id` came to; false when a later claim owns the row now. */
export async function recordAttempt(db: Db, id: string, attempt: number, record: AttemptRecord): Promise<boolean> {
  const result = await db
    .updateTable('webhook_deliveries')
    .set(
      record.status === 'delivered'
        ? { status: 'delivered', delivered_at: record.at, last_status: record.httpStatus, last_error: null }
        : record.status === 'pending'
          ? { next_attempt_at: record.nextAttemptAt, last_status: record.httpStatus, last_error: record.error }
          : { status: 'failed', last_status: record.httpStatus, last_error: record.error },
    )
    .where('id', '=', id)
    .where('attempts', '=', attempt)
    .where('status', '=', 'pending')
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** When the oldest pending delivery's event happened; undefined when none is pending. */
export async function oldestPendingDelivery(db: Db): Promise<Date | undefined> {
  const row = await withDatabase(() =>
    db
      .selectFrom('webhook_deliveries')
      .select((eb) => eb.fn.min('created_at').as('oldest'))
      .where('status', '=', 'pending')
      .executeTakeFirst(),
  );
  return row?.oldest ?? undefined;
}

export interface DeliveryView {
  readonly id: string;
  readonly eventType: string;
  readonly createdAt: Date;
  readonly status: DeliveryStatus;
  readonly attempts: number;
  /** For a pending delivery, when it is due (or its lease ends). */
  readonly nextAttemptAt: Date;
  readonly lastAttemptAt: Date | null;
  readonly lastStatus: number | null;
  readonly lastError: string | null;
}

export const MAX_PAGE = 200;

export interface DeliveryQuery {
  readonly status: 'pending' | 'failed';
  /** 1 to MAX_PAGE; larger asks get MAX_PAGE. */
  readonly limit: number;
  /** nextCursor of the page before. */
  readonly cursor?: Cursor;
}

/** Pending or failed deliveries, newest event first, a page at a time. */
export async function listDeliveries(db: Db, query: DeliveryQuery): Promise<{ deliveries: DeliveryView[]; nextCursor: string | undefined }> {
  const limit = Math.min(Math.max(1, Math.floor(query.limit)), MAX_PAGE);
  let select = db
    .selectFrom('webhook_deliveries')
    .select(['id', 'event_type', 'created_at', 'status', 'attempts', 'next_attempt_at', 'last_attempt_at', 'last_status', 'last_error'])
    .where('status', '=', query.status);
  const cursor = query.cursor;
  if (cursor) select = select.where((eb) => eb(eb.refTuple('created_at', 'id'), '<', eb.tuple(cursor.time, cursor.id)));
  const rows = await withDatabase(() => select.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit + 1).execute());
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    deliveries: page.map((row) => ({
      id: row.id,
      eventType: row.event_type,
      createdAt: row.created_at,
      status: row.status,
      attempts: row.attempts,
      nextAttemptAt: row.next_attempt_at,
      lastAttemptAt: row.last_attempt_at,
      lastStatus: row.last_status,
      lastError: row.last_error,
    })),
    nextCursor: rows.length > limit && last ? encodeCursor({ time: last.created_at, id: last.id }) : undefined,
  };
}

/** Deletes up to `limit` delivered or failed deliveries of events at or before `cutoff`; how many went. */
export async function deleteFinishedDeliveries(db: Db, cutoff: Date, limit: number): Promise<number> {
  const result = await withDatabase(() =>
    db
      .with(
        (cte) => cte('finished').materialized(),
        (qb) =>
          qb
            .selectFrom('webhook_deliveries')
            .select('id')
            .where('status', 'in', ['delivered', 'failed'])
            .where('created_at', '<=', cutoff)
            .limit(limit)
            .forUpdate()
            .skipLocked(),
      )
      .deleteFrom('webhook_deliveries')
      .using('finished')
      .whereRef('webhook_deliveries.id', '=', 'finished.id')
      .executeTakeFirst(),
  );
  return Number(result.numDeletedRows);
}

/** One delivery as stored, payload included; undefined when there is none (no webhook then, or purged). */
export async function findDelivery(db: Db, id: string) {
  return db.selectFrom('webhook_deliveries').selectAll().where('id', '=', id).executeTakeFirst();
}
