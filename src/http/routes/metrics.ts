// GET /metrics: Prometheus text format. Open unless METRICS_TOKEN is set;
// then only `Authorization: Bearer <METRICS_TOKEN>` may read it.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import type { RouteOptions } from '../route-options.js';
import { AppError } from '../../errors.js';

export const metricsRoutes: FastifyPluginAsync<RouteOptions> = async (app, { config, deps }) => {
  const expected = config.metricsToken === undefined ? undefined : digest(config.metricsToken);

  app.get('/metrics', async (request, reply) => {
    if (expected !== undefined) {
      const given = /^Bearer +(\S+) *$/i.exec(request.headers.authorization ?? '')?.[1];
      // Digests have one length, so the comparison takes the same time whatever was sent.
      if (given === undefined || !timingSafeEqual(digest(given), expected)) {
        throw new AppError('invalid_token', 'GET /metrics needs "Authorization: Bearer <METRICS_TOKEN>"', {
          headers: { 'www-authenticate': 'Bearer realm="roost-metrics"' },
        });
      }
    }
    const body = await deps.metrics.registry.metrics();
    return reply.header('cache-control', 'no-store').type(deps.metrics.registry.contentType).send(body);
  });
};

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
