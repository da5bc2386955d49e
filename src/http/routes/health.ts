// GET /healthz: the process is alive. It calls no dependency on purpose.
// GET /readyz: this replica can serve sign-ins (see readiness.ts).
import type { FastifyPluginAsync } from 'fastify';
import type { RouteOptions } from '../route-options.js';
import { checkReadiness } from '../../ops/readiness.js';

export const healthRoutes: FastifyPluginAsync<RouteOptions> = async (app, { deps }) => {
  app.get('/healthz', async (_request, reply) => reply.header('cache-control', 'no-store').send({ status: 'ok' }));

  app.get('/readyz', async (request, reply) => {
    const { status, checks, reasons, shareableReasons } = await checkReadiness({ ...deps, redisConfigured: deps.redis !== undefined });
    if (status !== 'ok') request.log.warn({ checks, reasons }, 'not ready');
    // A plain JSON body, not problem+json, on 503 too: probes and people read
    // `checks`, and `reasons` where a reason is safe to send (the signing key's).
    const body = Object.keys(shareableReasons).length > 0 ? { status, checks, reasons: shareableReasons } : { status, checks };
    return reply.status(status === 'ok' ? 200 : 503).header('cache-control', 'no-store').send(body);
  });
};
