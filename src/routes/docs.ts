// GET /openapi.yaml: the contract operators and client authors read first.
import type { FastifyPluginAsync } from 'fastify';
import type { RouteOptions } from '../app.js';
import { readProjectFile } from '../project-files.js';

export const docsRoutes: FastifyPluginAsync<RouteOptions> = async (app) => {
  const spec = readProjectFile('openapi.yaml');
  app.get('/openapi.yaml', async (_request, reply) => reply.type('application/yaml; charset=utf-8').send(spec));
};
