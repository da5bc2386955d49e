// GET /roost.js: the browser client (client/roost.js), for apps to import
// straight from the roost they sign in with.
import { createHash } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import type { RouteOptions } from '../route-options.js';
import { readProjectFile } from '../../contract/project-files.js';
import { ifNoneMatchHits } from '../conditional-get.js';

export const clientRoutes: FastifyPluginAsync<RouteOptions> = async (app) => {
  const body = readProjectFile('client/roost.js');
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
  app.get('/roost.js', async (request, reply) => {
    reply
      // A module script from another origin is fetched in CORS mode; the
      // file is public code, so any origin may load it (no credentials).
      .header('access-control-allow-origin', '*')
      .header('cross-origin-resource-policy', 'cross-origin')
      // Not versioned in its URL: a short max-age, then a cheap revalidation.
      .header('cache-control', 'public, max-age=300')
      .header('etag', etag);
    if (ifNoneMatchHits(request.headers['if-none-match'], etag)) return reply.code(304).send();
    return reply.type('text/javascript; charset=utf-8').send(body);
  });
};
