// GET /: with the sandbox on, a page to try a sign-in in the browser;
// otherwise a short JSON description of the service.
import type { FastifyPluginAsync } from 'fastify';
import type { RouteOptions } from '../app.js';
import { readProjectFile } from '../project-files.js';

// Inline-free page: the script is a separate file so the CSP can forbid inline scripts.
const CSP = "default-src 'self'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

export const homeRoutes: FastifyPluginAsync<RouteOptions> = async (app, { config }) => {
  if (!config.sandbox) {
    const description = {
      name: 'roost',
      issuer: config.publicUrl,
      jwks_uri: `${config.publicUrl}/.well-known/jwks.json`,
      openapi: `${config.publicUrl}/openapi.yaml`,
    };
    app.get('/', async () => description);
    return;
  }
  const page = readProjectFile('src/home/page.html');
  const script = readProjectFile('src/home/page.js');
  app.get('/', async (_request, reply) => reply.type('text/html; charset=utf-8').header('content-security-policy', CSP).send(page));
  app.get('/home.js', async (_request, reply) => reply.type('text/javascript; charset=utf-8').send(script));
};

