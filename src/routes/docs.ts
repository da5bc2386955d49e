// The contract, for people and machines: /openapi.yaml, /openapi.json and a
// reference page at /docs rendered from the same document, with every asset
// served from this process (nothing is fetched from a CDN).
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyPluginAsync } from 'fastify';
import type { RouteOptions } from '../app.js';
import { loadOpenApi } from '../openapi.js';

export const docsRoutes: FastifyPluginAsync<RouteOptions> = async (app) => {
  const spec = loadOpenApi();
  const json = JSON.stringify(spec.document);
  app.get('/openapi.yaml', async (_request, reply) => reply.type('application/yaml; charset=utf-8').send(spec.text));
  app.get('/openapi.json', async (_request, reply) => reply.type('application/json; charset=utf-8').send(json));

  await app.register(swagger, { mode: 'static', specification: { document: spec.document as never } });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    // The UI's own routes (assets, its copies of the document) are hidden from the document.
    uiConfig: { url: '/openapi.json', validatorUrl: null, deepLinking: true } as never,
    staticCSP: true,
  });
};
