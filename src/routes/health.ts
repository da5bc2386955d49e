// GET /healthz: the process is alive. It calls no dependency on purpose.
import type { FastifyPluginAsync } from 'fastify';
import type { RouteOptions } from '../app.js';

export const healthRoutes: FastifyPluginAsync<RouteOptions> = async (app) => {
  app.get('/healthz', async (_request, reply) => reply.header('cache-control', 'no-store').send({ status: 'ok' }));
};
