// GET /sessions and DELETE /sessions/{id}: a user sees and ends their own
// sessions. Another user's session id answers exactly like an unknown one.
import type { FastifyPluginAsync } from 'fastify';
import type { RouteOptions } from '../route-options.js';
import { AppError } from '../../errors.js';
import { loadOpenApi, paramsSchema } from '../../contract/openapi.js';
import { compileRequestSchema } from '../request-schemas.js';
import { listActiveSessions, revokeUserSession, type SessionRow } from '../../sessions/queries.js';
import { createBearerAuth } from '../bearer.js';

export const sessionRoutes: FastifyPluginAsync<RouteOptions> = async (app, { config, deps }) => {
  const bearer = createBearerAuth(config, deps);

  app.get('/sessions', async (request, reply) => {
    const claims = await bearer.authenticate(request);
    const rows = await listActiveSessions(deps.db, claims.sub, deps.now(), config.sessionIdleTtl);
    return reply.header('cache-control', 'no-store').send({ sessions: rows.map((row) => describe(row, claims.sid, config.sessionIdleTtl)) });
  });

  const deleteRoute = {
    // The id is checked against the path parameter in openapi.yaml, and nowhere else.
    schema: { params: paramsSchema(loadOpenApi(), '/sessions/{id}', 'delete') },
    validatorCompiler: compileRequestSchema,
    // The handler sees a malformed id: the token is checked first, then the id answers like an unknown one.
    attachValidation: true,
  };
  app.delete<{ Params: { id: string } }>('/sessions/:id', deleteRoute, async (request, reply) => {
    const claims = await bearer.authenticate(request);
    const id = request.params.id.toLowerCase();
    const found = request.validationError === undefined && (await revokeUserSession(deps.db, claims.sub, id, 'ended_by_user', deps.now()));
    if (!found) throw new AppError('not_found', 'You have no session with this id');
    deps.sessionCheck.forget(id);
    await deps.audit.record(deps.db, { type: 'session.ended', userId: claims.sub, sessionId: id, ip: request.ip, userAgent: request.headers['user-agent'] ?? null, detail: { reason: 'revocation', by: 'user' } });
    return reply.header('cache-control', 'no-store').code(204).send();
  });
};

function describe(row: SessionRow, currentSid: string, idleSeconds: number) {
  return {
    id: row.id,
    current: row.id === currentSid,
    created_at: row.created_at.toISOString(),
    last_used_at: row.last_used_at.toISOString(),
    expires_at: row.expires_at.toISOString(),
    idle_expires_at: new Date(Math.min(row.last_used_at.getTime() + idleSeconds * 1000, row.expires_at.getTime())).toISOString(),
    user_agent: row.user_agent,
    ip: row.ip,
    kind: row.kind ?? 'app',
    client_id: row.client_id ?? null,
  };
}
