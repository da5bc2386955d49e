// The admin API's listings of the audit log and of the webhook deliveries
// that are pending or failed, newest first, a keyset page at a time.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { RouteOptions } from '../route-options.js';
import { AppError } from '../../errors.js';
import { decodeCursor, type Cursor } from '../../audit/cursor.js';
import { auditEventData } from '../../audit/events.js';
import { listAuditEvents } from '../../audit/queries.js';
import { listDeliveries } from '../../webhooks/outbox.js';
import { recordAdminAction } from './admin-auth.js';
import { adminRoute, limitOf } from './admin-validation.js';
import { deliveryData } from './admin-wire.js';

const DEFAULT_PAGE = 50;

interface AuditQuery {
  user_id?: string;
  type?: string;
  since?: string;
  until?: string;
  cursor?: string;
}

/** The cursor a listing gave, back; a 400 for anything else. */
function cursorOf(request: FastifyRequest): Cursor | undefined {
  const raw = (request.query as { cursor?: string }).cursor;
  if (raw === undefined) return undefined;
  const cursor = decodeCursor(raw);
  if (!cursor) throw new AppError('invalid_request', 'cursor is not one this listing gave');
  return cursor;
}

/** A date-time the document accepted; one JavaScript cannot read (a leap second) is refused rather than sent to Postgres. */
function timeOf(name: string, value: string): Date {
  const time = new Date(value);
  if (Number.isNaN(time.getTime())) throw new AppError('invalid_request', `${name} is not a time roost can read`);
  return time;
}

export const adminLogRoutes: FastifyPluginAsync<RouteOptions> = async (app, options) => {
  const { deps } = options;

  app.get<{ Querystring: AuditQuery }>('/admin/audit', adminRoute(options, '/admin/audit', 'get', { query: true }), async (request, reply) => {
    const { query } = request;
    const cursor = cursorOf(request);
    const page = await listAuditEvents(deps.db, {
      limit: limitOf(request, DEFAULT_PAGE),
      ...(query.user_id !== undefined ? { userId: query.user_id.toLowerCase() } : {}),
      ...(query.type !== undefined ? { type: query.type } : {}),
      ...(query.since !== undefined ? { since: timeOf('since', query.since) } : {}),
      ...(query.until !== undefined ? { until: timeOf('until', query.until) } : {}),
      ...(cursor ? { cursor } : {}),
    });
    // Recorded after the page is read: a listing never lists itself, and the next page is unchanged by it.
    await recordAdminAction(deps, request, 'audit.list', { userId: query.user_id?.toLowerCase() ?? null });
    return reply.header('cache-control', 'no-store').send({ events: page.events.map(auditEventData), next_cursor: page.nextCursor ?? null });
  });

  const deliveriesRoute = adminRoute(options, '/admin/webhooks/deliveries', 'get', { query: true });
  app.get<{ Querystring: { status: 'pending' | 'failed' } }>('/admin/webhooks/deliveries', deliveriesRoute, async (request, reply) => {
    const cursor = cursorOf(request);
    const page = await listDeliveries(deps.db, { status: request.query.status, limit: limitOf(request, DEFAULT_PAGE), ...(cursor ? { cursor } : {}) });
    await recordAdminAction(deps, request, 'webhooks.deliveries.list');
    return reply.header('cache-control', 'no-store').send({ deliveries: page.deliveries.map(deliveryData), next_cursor: page.nextCursor ?? null });
  });
};
