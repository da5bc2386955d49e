// GET /: with the sandbox on, a page to try a sign-in in the browser (plus
// its script and stylesheet); otherwise a short JSON description of the service.
import type { FastifyPluginAsync } from 'fastify';
import type { RouteOptions } from '../route-options.js';
import { readProjectFile } from '../../contract/project-files.js';
import { escapeHtml } from '../html.js';
import { publicHostRedirector } from '../public-host.js';

// No inline script or style anywhere, so the policy can forbid both; the page
// talks only to roost itself.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

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
  const files = [
    ['/', 'src/home/page.html', 'text/html; charset=utf-8'],
    ['/home.js', 'src/home/page.js', 'text/javascript; charset=utf-8'],
    ['/home.css', 'src/home/page.css', 'text/css; charset=utf-8'],
  ] as const;
  // return_to is the page at PUBLIC_URL, which the sandbox registers in
  // RETURN_TO_URLS; the page's script adds the state. Opened under another
  // host name, the page first moves to PUBLIC_URL: the state it keeps in
  // sessionStorage must be there when the sign-in comes back.
  const toPublicHost = publicHostRedirector(config.publicUrl);
  const signInUrl = `${config.publicUrl}/login?return_to=${encodeURIComponent(`${config.publicUrl}/`)}`;
  for (const [url, file, type] of files) {
    const body = readProjectFile(file).replace('{{sign_in_url}}', escapeHtml(signInUrl));
    app.get(url, async (request, reply) => {
      const elsewhere = url === '/' ? toPublicHost(request) : undefined;
      if (elsewhere !== undefined) return reply.header('cache-control', 'no-store').redirect(elsewhere, 302);
      return reply
        .type(type)
        .header('content-security-policy', CSP)
        // The page holds a token in memory: it does not leak through a Referer.
        .header('referrer-policy', 'no-referrer')
        .header('cache-control', 'no-cache')
        .send(body);
    });
  }
};
