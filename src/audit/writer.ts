// Writes audit events, and with a webhook configured the event's delivery in
// the same transaction (a transactional outbox): the event is sent if and
// only if it is stored. Recording an event never fails the request it
// describes: a failed write is reported to the caller's callback (logged and
// counted there) and the request goes on. Inside the caller's transaction the
// write sits in a savepoint, so its failure leaves that transaction usable,
// and the caller's rollback takes the event and its delivery away together.
import { sql } from 'kysely';
import type { Db } from '../store/db.js';
import { insertDelivery } from '../webhooks/outbox.js';
import { webhookPayload } from '../webhooks/standard-webhooks.js';
import { cleanAuditDetail, type CleanedDetail } from './detail.js';
import { newEventId } from './event-id.js';
import { auditEventData, defaultOutcome, isAuditEventType, MAX_IP, MAX_USER_AGENT, type AuditEvent, type AuditEventInput, type AuditEventType } from './events.js';

export interface AuditWriterOptions {
  readonly now: () => number;
  /** True when WEBHOOK_URL is set: each event gets its delivery row. */
  readonly webhooks: boolean;
  /** An event that could not be stored (the database's error, never the event's detail). */
  readonly onWriteFailed: (error: unknown, type: string) => void;
  /** Detail keys left out, by name and reason (never their values): a bug in the calling code. */
  readonly onDetailRefused: (type: AuditEventType, refused: CleanedDetail['refused']) => void;
  /**
   * A delivery was written: a worker in this process may look for it now
   * rather than at its next poll. Inside the caller's transaction this comes
   * before the commit; a worker that looks too early finds it at the next poll.
   */
  readonly onDeliveryQueued?: () => void;
  readonly newId?: (nowMs: number) => string;
}

export interface AuditWriter {
  /**
   * Stores the event on `db`, or inside the transaction `db` is. Resolves to
   * the event as stored, or undefined when it could not be (reported through
   * onWriteFailed); never rejects.
   */
  record(db: Db, input: AuditEventInput): Promise<AuditEvent | undefined>;
}

const SAVEPOINT = sql.raw('roost_audit_event');

export function createAuditWriter(options: AuditWriterOptions): AuditWriter {
  const newId = options.newId ?? newEventId;

  const build = (input: AuditEventInput): AuditEvent => {
    const nowMs = options.now();
    const cleaned = cleanAuditDetail(input.detail);
    if (cleaned.refused.length > 0) options.onDetailRefused(input.type, cleaned.refused);
    return {
      id: newId(nowMs),
      occurredAt: new Date(nowMs),
      type: input.type,
      userId: input.userId ?? null,
      sessionId: input.sessionId ?? null,
      ip: input.ip?.slice(0, MAX_IP) ?? null,
      userAgent: input.userAgent?.slice(0, MAX_USER_AGENT) ?? null,
      outcome: input.outcome ?? defaultOutcome(input.type),
      detail: cleaned.detail,
    };
  };

  const insert = async (db: Db, event: AuditEvent) => {
    await db
      .insertInto('audit_events')
      .values({
        id: event.id,
        occurred_at: event.occurredAt,
        type: event.type,
        user_id: event.userId,
        session_id: event.sessionId,
        ip: event.ip,
        user_agent: event.userAgent,
        outcome: event.outcome,
        detail: JSON.stringify(event.detail),
      })
      .execute();
    if (options.webhooks) {
      await insertDelivery(db, { id: event.id, eventType: event.type, createdAt: event.occurredAt, payload: webhookPayload(event.type, event.occurredAt, auditEventData(event)) });
    }
  };

  return {
    async record(db, input) {
      if (!isAuditEventType(input.type)) {
        options.onWriteFailed(new Error(`unknown audit event type "${String(input.type).slice(0, 40)}"`), 'unknown');
        return undefined;
      }
      const event = build(input);
      try {
        if (db.isTransaction) {
          // A failed statement aborts a Postgres transaction: the savepoint keeps the caller's work alive.
          await sql`savepoint ${SAVEPOINT}`.execute(db);
          try {
            await insert(db, event);
          } catch (error) {
            // If even this fails the connection is gone, and the caller's next statement says so.
            await sql`rollback to savepoint ${SAVEPOINT}`.execute(db).catch(() => undefined);
            throw error;
          }
          await sql`release savepoint ${SAVEPOINT}`.execute(db);
        } else if (options.webhooks) {
          await db.transaction().execute((trx) => insert(trx, event));
        } else {
          await insert(db, event);
        }
      } catch (error) {
        options.onWriteFailed(error, event.type);
        return undefined;
      }
      if (options.webhooks) options.onDeliveryQueued?.();
      return event;
    },
  };
}
