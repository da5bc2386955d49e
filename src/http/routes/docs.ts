// The contract, for people and machines: /openapi.yaml, /openapi.json and a
// reference page at /docs rendered from the same document, with every asset
// served from this process (nothing is fetched from a CDN).
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import swaggerUiCsp from '@fastify/swagger-ui/static/csp.json' with { type: 'json' };
import type { FastifyPluginAsync } from 'fastify';
import type { RouteOptions } from '../route-options.js';
import { loadOpenApi, servedAt } from '../../contract/openapi.js';

/** The hashes of the inline scripts and styles of the Swagger UI version installed. */
const swaggerUiInline: { readonly script: readonly string[]; readonly style: readonly string[] } = swaggerUiCsp;

/**
 * The page's CSP: its own origin only, no framing (as every other response).
 * upgrade-insecure-requests only when PUBLIC_URL is https: reached over plain
 * http by any host but localhost (a LAN address), it would make the browser
 * fetch every asset over https and render nothing.
 */
export function docsContentSecurityPolicy(publicUrl: string, inline = swaggerUiInline): string {
  return [
    "default-src 'self'",
    "base-uri 'self'",
    "font-src 'self' data:",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "img-src 'self' data:",
    "object-src 'none'",
    ["script-src 'self'", ...inline.script].join(' '),
    "script-src-attr 'none'",
    ["style-src 'self'", ...inline.style].join(' '),
    ...(publicUrl.startsWith('https:') ? ['upgrade-insecure-requests'] : []),
  ].join('; ');
}

export const docsRoutes: FastifyPluginAsync<RouteOptions> = async (app, { config }) => {
  // PUBLIC_URL as the one server, computed once: "Try it out" calls the roost
  // that served the page (the page's CSP allows no other origin), whatever its
  // host and port, and the file's local default stays in the repository.
  const spec = servedAt(loadOpenApi(), config.publicUrl);
  const json = JSON.stringify(spec.document);
  app.get('/openapi.yaml', async (_request, reply) => reply.type('application/yaml; charset=utf-8').send(spec.text));
  app.get('/openapi.json', async (_request, reply) => reply.type('application/json; charset=utf-8').send(json));

  await app.register(swagger, { mode: 'static', specification: { document: spec.document as never } });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    // The UI's own routes (assets, its copies of the document) are hidden from the document.
    // BaseLayout: the standalone layout's top bar draws Swagger's logo as an
    // SVG with an inline <style> element, which the page's CSP refuses; the bar
    // holds nothing else roost needs (its "Explore" box loads other documents).
    uiConfig: { url: '/openapi.json', validatorUrl: null, deepLinking: true, layout: 'BaseLayout' } as never,
    staticCSP: docsContentSecurityPolicy(config.publicUrl),
  });
};
