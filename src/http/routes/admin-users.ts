// The admin API's users and sessions: search, detail, ban and unban,
// deletion, and ending one session. Every action is audited with the
// operator's key id; an unknown or malformed id is 404.
import type { FastifyPluginAsync } from 'fastify';
import type { RouteOptions } from '../route-options.js';
import { AppError } from '../../errors.js';
import { listAuditEvents } from '../../audit/queries.js';
import { auditEventData } from '../../audit/events.js';
import { decodeUserCursor, DEFAULT_USER_PAGE, parseUserFilter } from '../../admin/user-search.js';
import { findAdminUser, listUserSessions, searchUsers } from '../../admin/users.js';
import { revokeSessionAsAdmin } from '../../admin/session-revocation.js';
import { banUser, unbanUser } from '../../users/bans.js';
import { deleteAccount } from '../../users/account.js';
import { auditedActor, recordAdminAction } from './admin-auth.js';
import { adminRoute, idOf, limitOf } from './admin-validation.js';
import { adminSessionData, adminUserData } from './admin-wire.js';

/** The audit events shown with a user. */
const RECENT_EVENTS = 20;

export const adminUserRoutes: FastifyPluginAsync<RouteOptions> = async (app, options) => {
  const { config, deps } = options;
  const idleSeconds = config.sessionIdleTtl;
  const userOrNotFound = async (id: string) => {
    const user = await findAdminUser(deps.db, id);
    if (!user) throw new AppError('not_found', 'No user with this id');
    return user;
  };

  app.get<{ Querystring: { q?: string; cursor?: string } }>('/admin/users', adminRoute(options, '/admin/users', 'get', { query: true }), async (request, reply) => {
    const cursor = request.query.cursor === undefined ? undefined : decodeUserCursor(request.query.cursor);
    if (request.query.cursor !== undefined && cursor === undefined) throw new AppError('invalid_request', 'cursor is not one this listing gave');
    const filter = parseUserFilter(request.query.q);
    const page = filter ? await searchUsers(deps.db, { filter, limit: limitOf(request, DEFAULT_USER_PAGE), ...(cursor ? { cursor } : {}) }) : { users: [], nextCursor: undefined };
    await recordAdminAction(deps, request, 'users.search', { detail: { search: filter?.kind ?? 'nothing' } });
    return reply.header('cache-control', 'no-store').send({ users: page.users.map(adminUserData), next_cursor: page.nextCursor ?? null });
  });

  app.get('/admin/users/:id', adminRoute(options, '/admin/users/{id}', 'get', { params: true }), async (request, reply) => {
    const id = idOf(request);
    const user = await userOrNotFound(id);
    const [sessions, events] = await Promise.all([listUserSessions(deps.db, id), listAuditEvents(deps.db, { userId: id, limit: RECENT_EVENTS })]);
    await recordAdminAction(deps, request, 'users.view', { userId: id });
    const nowMs = deps.now();
    return reply.header('cache-control', 'no-store').send({
      ...adminUserData(user),
      sessions: sessions.map((row) => adminSessionData(row, nowMs, idleSeconds)),
      recent_events: events.events.map(auditEventData),
    });
  });

  const banRoute = { ...adminRoute(options, '/admin/users/{id}/ban', 'post', { params: true, body: true }), bodyLimit: 4096 };
  app.post<{ Body: { reason: string } }>('/admin/users/:id/ban', banRoute, async (request, reply) => {
    const id = idOf(request);
    const ban = await banUser({ db: deps.db, audit: deps.audit, now: deps.now, idleSeconds }, id, request.body.reason, auditedActor(request));
    if (!ban) throw new AppError('not_found', 'No user with this id');
    // This replica refuses the sessions' access tokens at once; the others within their session check's cache time.
    for (const sessionId of ban.endedSessionIds) deps.sessionCheck.forget(sessionId);
    return reply.header('cache-control', 'no-store').send({ ...adminUserData(await userOrNotFound(id)), sessions_ended: ban.endedSessionIds.length });
  });

  app.post('/admin/users/:id/unban', adminRoute(options, '/admin/users/{id}/unban', 'post', { params: true }), async (request, reply) => {
    const id = idOf(request);
    const unbanned = await unbanUser(deps, id, auditedActor(request));
    if (!unbanned) throw new AppError('not_found', 'No user with this id');
    if (!unbanned.wasBanned) await recordAdminAction(deps, request, 'users.unban', { userId: id, detail: { result: 'not_banned' } });
    return reply.header('cache-control', 'no-store').send(adminUserData(await userOrNotFound(id)));
  });

  const account = {
    ...deps,
    // Only the error's code: its message never carries a token, but its cause could.
    onRevokeFailed: (error: unknown) => app.log.warn({ code: (error as { code?: unknown }).code ?? 'unknown' }, 'account deleted, but Twitter did not revoke its access token'),
  };
  app.delete('/admin/users/:id', adminRoute(options, '/admin/users/{id}', 'delete', { params: true }), async (request, reply) => {
    const id = idOf(request);
    if (!(await deleteAccount(account, id))) throw new AppError('not_found', 'No user with this id');
    const actor = auditedActor(request);
    await deps.audit.record(deps.db, { ...actor, type: 'account.deleted', userId: id });
    return reply.header('cache-control', 'no-store').code(204).send();
  });

  app.delete('/admin/sessions/:id', adminRoute(options, '/admin/sessions/{id}', 'delete', { params: true }), async (request, reply) => {
    const id = idOf(request);
    const revoked = await revokeSessionAsAdmin(deps, id, auditedActor(request));
    if (!revoked) throw new AppError('not_found', 'No session with this id');
    deps.sessionCheck.forget(id);
    if (revoked.outcome === 'already_ended') await recordAdminAction(deps, request, 'sessions.end', { userId: revoked.userId, sessionId: id, detail: { result: 'already_ended' } });
    return reply.header('cache-control', 'no-store').code(204).send();
  });
};
