// The /docs page's CSP: strict, and upgrade-insecure-requests only when
// browsers reach roost over https (over plain http it would send them to
// fetch the page's assets over https, and the page would stay blank).
import type { AddressInfo } from 'node:net';
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
