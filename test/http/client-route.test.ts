// GET /roost.js: the browser client as the file in client/, loadable as a
// module script from any origin, cached briefly and revalidated by ETag.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { startRoost } from '../helpers/roost.js';

const file = readFileSync(new URL('../../client/roost.js', import.meta.url), 'utf8');

for (const sandbox of [true, false]) {
  t.test(`GET /roost.js answers client/roost.js (sandbox ${sandbox ? 'on' : 'off'})`, async (t) => {
    const roost = await startRoost(t, { sandbox });
    const response = await fetch(`${roost.url}/roost.js`, { headers: { origin: 'https://app.elsewhere.example' } });
    t.equal(response.status, 200);
    t.equal(response.headers.get('content-type'), 'text/javascript; charset=utf-8');
    t.equal(response.headers.get('access-control-allow-origin'), '*', 'a module script from another origin is fetched in CORS mode');
    t.equal(response.headers.get('access-control-allow-credentials'), null);
    t.equal(response.headers.get('cross-origin-resource-policy'), 'cross-origin');
    t.equal(response.headers.get('cache-control'), 'public, max-age=300');
    t.equal(response.headers.get('x-content-type-options'), 'nosniff');
    t.equal(await response.text(), file, 'the file itself');
    t.match(file, /export function createRoostClient\(/);

    const etag = response.headers.get('etag') ?? '';
    t.match(etag, /^"[A-Za-z0-9_-]{22}"$/);
    const again = await fetch(`${roost.url}/roost.js`, { headers: { 'if-none-match': etag } });
    t.equal(again.status, 304, 'unchanged: no body');
    t.equal(again.headers.get('etag'), etag);
    t.equal(again.headers.get('access-control-allow-origin'), '*');
    t.equal(await again.text(), '');
    const stale = await fetch(`${roost.url}/roost.js`, { headers: { 'if-none-match': '"something-else"' } });
    t.equal(stale.status, 200);
    await stale.arrayBuffer();
  });
}

t.test('the npm package names the file and its types', async (t) => {
  const manifest = JSON.parse(readFileSync(new URL('../../client/package.json', import.meta.url), 'utf8')) as Record<string, unknown>;
  t.equal(manifest.type, 'module');
  t.same(manifest.exports, { '.': { types: './roost.d.ts', default: './roost.js' } });
  const types = readFileSync(new URL('../../client/roost.d.ts', import.meta.url), 'utf8');
  for (const name of ['signIn', 'handleRedirect', 'getAccessToken', 'signOut', 'onChange']) {
    t.match(types, new RegExp(`\\b${name}\\(`), `roost.d.ts declares ${name}`);
    t.match(file, new RegExp(`\\b${name}\\b`), `roost.js has ${name}`);
  }
});
