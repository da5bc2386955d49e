// DELETE /me: the signed-in user deletes their account.
import type { FastifyPluginAsync } from 'fastify';
import type { RouteOptions } from '../route-options.js';
import { deleteAccount } from '../../users/account.js';
import { createBearerAuth, invalidToken } from '../bearer.js';

export const accountRoutes: FastifyPluginAsync<RouteOptions> = async (app, { config, deps }) => {
  const bearer = createBearerAuth(config, deps);
  const account = {
    ...deps,
    // Only the error's kind and code: its message never carries a token, but its cause could.
    onRevokeFailed: (error: unknown) =>
      app.log.warn({ code: (error as { code?: unknown }).code ?? 'unknown' }, 'account deleted, but Twitter did not revoke its access token'),
  };

  app.delete('/me', async (request, reply) => {
    const claims = await bearer.authenticate(request);
    if (!(await deleteAccount(account, claims.sub))) throw invalidToken('The user of this token no longer exists');
    await deps.audit.record(deps.db, { type: 'account.deleted', userId: claims.sub, ip: request.ip, userAgent: request.headers['user-agent'] ?? null, detail: { by: 'user' } });
    return reply.header('cache-control', 'no-store').code(204).send();
  });
};
