// GET /: with the sandbox on, a page to try a sign-in in the browser (plus
// its script and stylesheet); otherwise a short JSON description of the service.
import type { FastifyPluginAsync } from 'fastify';
import type { RouteOptions } from '../route-options.js';
import { readProjectFile } from '../../contract/project-files.js';
import { publicHostRedirector } from '../public-host.js';

// What the page does, and nothing more: its script and roost.js are modules
// from roost itself, with no inline script or style anywhere; it fetches from
// roost only; its one image is the empty data: icon; it has no form, and
// sign-in leaves by navigation, which the policy does not limit.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

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
  // The page signs in with roost.js, its return_to the page at PUBLIC_URL,
  // which the sandbox registers in RETURN_TO_URLS. Opened under another host
  // name, the page first moves to PUBLIC_URL: the state and PKCE verifier
  // roost.js keeps in sessionStorage must be there when the sign-in comes back.
  const toPublicHost = publicHostRedirector(config.publicUrl);
  // The banner says which protocol the sandbox signs in with (TWITTER_PROTOCOL).
  const protocol = config.twitter.protocol === 'oauth2' ? 'OAuth 2.0 with PKCE' : 'OAuth 1.0a';
  for (const [url, file, type] of files) {
    const body = url === '/' ? readProjectFile(file).replace('{{protocol}}', protocol) : readProjectFile(file);
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
