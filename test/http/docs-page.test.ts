// The /docs page's CSP: strict, and upgrade-insecure-requests only when
// browsers reach roost over https (over plain http it would send them to
// fetch the page's assets over https, and the page would stay blank). It is
// the page's own: stricter on styles and fonts than the policy every other
// response carries, with the hashes of whatever inline code the installed
// Swagger UI has.
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import swaggerUiCsp from '@fastify/swagger-ui/static/csp.json' with { type: 'json' };
import t, { type Test } from 'tap';
import { docsContentSecurityPolicy } from '../../src/http/routes/docs.js';
import { startRoost, type Roost } from '../helpers/roost.js';

const directives = (csp: string | null) =>
  new Map((csp ?? '').split(';').map((part) => part.trim()).filter(Boolean).map((part) => [part.split(/\s+/)[0] as string, part]));

/** The CSP of the page and of one of its assets, fetched from where roost listens (not PUBLIC_URL). */
async function docsCsp(t: Test, roost: Roost): Promise<(string | null)[]> {
  const base = `http://127.0.0.1:${(roost.app.server.address() as AddressInfo).port}`;
  const answers = await Promise.all([fetch(`${base}/docs/`), fetch(`${base}/docs/static/swagger-initializer.js`)]);
  return Promise.all(
    answers.map(async (response) => {
      t.equal(response.status, 200, response.url);
      await response.arrayBuffer();
      return response.headers.get('content-security-policy');
    }),
  );
}

t.test('the policy: own origin only, no framing, no inline code; upgrades only over https', async (t) => {
  for (const publicUrl of ['http://192.168.1.20:3000', 'http://localhost:3000', 'https://auth.example.com']) {
    const policy = directives(docsContentSecurityPolicy(publicUrl));
    t.equal(policy.get('default-src'), "default-src 'self'", publicUrl);
    t.equal(policy.get('frame-ancestors'), "frame-ancestors 'none'");
    t.equal(policy.get('object-src'), "object-src 'none'");
    t.equal(policy.get('script-src'), "script-src 'self'");
    t.equal(policy.get('script-src-attr'), "script-src-attr 'none'");
    t.equal(policy.get('style-src'), "style-src 'self'");
    t.notMatch(docsContentSecurityPolicy(publicUrl), /unsafe-|https:|\*/, 'no inline code, no other origin');
    t.equal(policy.has('upgrade-insecure-requests'), publicUrl.startsWith('https:'));
  }
  t.equal(
    directives(docsContentSecurityPolicy('https://auth.example.com', { script: ["'sha256-abc='"], style: ["'sha256-def='"] })).get('script-src'),
    "script-src 'self' 'sha256-abc='",
    'the inline hashes of the installed Swagger UI are allowed',
  );
});

t.test('/docs sends its own policy, and no other response does', async (t) => {
  const roost = await startRoost(t);
  const [page, asset] = await docsCsp(t, roost);
  const others = await Promise.all(
    ['/healthz', '/openapi.json', '/.well-known/jwks.json', '/no/such/page'].map(async (path) => {
      const response = await fetch(`${roost.url}${path}`);
      await response.arrayBuffer();
      return { path, csp: response.headers.get('content-security-policy') };
    }),
  );
  t.equal(asset, page, 'its assets carry the page\'s policy');
  const docs = directives(page ?? null);
  const installed = [...swaggerUiCsp.script, ...swaggerUiCsp.style];
  t.equal(docs.get('style-src'), ["style-src 'self'", ...swaggerUiCsp.style].join(' '), 'styles: its own origin and the installed inline hashes, no \'unsafe-inline\'');
  t.equal(docs.get('script-src'), ["script-src 'self'", ...swaggerUiCsp.script].join(' '));
  t.equal(docs.get('font-src'), "font-src 'self' data:", 'fonts: no other origin');
  for (const { path, csp } of others) {
    t.ok(csp, `${path} has a CSP`);
    const other = directives(csp);
    t.not(other.get('style-src'), docs.get('style-src'), `${path}: not the style-src of /docs`);
    t.not(other.get('font-src'), docs.get('font-src'), `${path}: not the font-src of /docs`);
    for (const hash of installed) t.notOk(csp?.includes(hash), `${path}: no Swagger UI hash ${hash}`);
  }

  // The strict policy holds only while every inline script and style of the page is hashed in it.
  const html = await (await fetch(`${roost.url}/docs/`)).text();
  t.match(html, /<div id="swagger-ui">/, 'the Swagger UI page');
  const inline = [...html.matchAll(/<(script|style)\b([^>]*)>([\s\S]*?)<\/\1>/g)]
    .filter(([, tag, attributes]) => tag === 'style' || !/\bsrc=/.test(attributes ?? ''))
    .map(([, tag, , body]) => ({ tag, hash: `'sha256-${createHash('sha256').update(body ?? '').digest('base64')}'` }));
  const unhashed = inline.filter(({ tag, hash }) => !docs.get(tag === 'script' ? 'script-src' : 'style-src')?.split(' ').includes(hash));
  t.same(unhashed, [], 'every inline script and style of the page is allowed by its hash');
  t.notMatch(html, /\sstyle=|\son[a-z]+=/i, 'no style or event-handler attributes, which no hash allows');
});

t.test('an http PUBLIC_URL on a LAN address: /docs sends no upgrade-insecure-requests', async (t) => {
  const roost = await startRoost(t, { env: { PUBLIC_URL: 'http://192.168.1.20:3000' } });
  for (const csp of await docsCsp(t, roost)) {
    t.ok(csp, 'a CSP');
    t.notMatch(csp, /upgrade-insecure-requests/);
    t.match(csp, /frame-ancestors 'none'/);
  }
});

t.test('an https PUBLIC_URL: /docs keeps upgrade-insecure-requests', async (t) => {
  const roost = await startRoost(t, { env: { PUBLIC_URL: 'https://auth.example.com' } });
  for (const csp of await docsCsp(t, roost)) t.match(csp, /(^|; )upgrade-insecure-requests($|;)/);
});
