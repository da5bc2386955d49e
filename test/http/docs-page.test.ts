// The /docs page's CSP: strict, and upgrade-insecure-requests only when
// browsers reach roost over https (over plain http it would send them to
// fetch the page's assets over https, and the page would stay blank). It is
// the page's own: stricter on styles and fonts than the policy every other
// response carries, with the hashes of whatever inline code the installed
// Swagger UI has. And the documents roost serves name its PUBLIC_URL as
// their one server, so that the page's "Try it out" (held by that CSP to the
// page's own origin) calls the roost that served it.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import swaggerUiCsp from '@fastify/swagger-ui/static/csp.json' with { type: 'json' };
import t, { type Test } from 'tap';
import { parse } from 'yaml';
import { parseOpenApi, servedAt } from '../../src/contract/openapi.js';
import { docsContentSecurityPolicy } from '../../src/http/routes/docs.js';
import { startRoost, type Roost } from '../helpers/roost.js';

const FILE = readFileSync(new URL('../../openapi.yaml', import.meta.url), 'utf8');

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

/** The text before the top-level `servers:` line, and from the next line that starts at column 0. */
function aroundServers(text: string): [string, string] {
  const lines = text.split('\n');
  const at = lines.findIndex((line) => /^servers:/.test(line));
  const after = lines.findIndex((line, index) => index > at && /^\S/.test(line));
  return [lines.slice(0, at).join('\n'), lines.slice(after).join('\n')];
}

/** The copies of the document an instance serves, fetched from where it listens (not PUBLIC_URL): the YAML text and each parsed. */
async function servedDocuments(roost: Roost) {
  const base = `http://127.0.0.1:${(roost.app.server.address() as AddressInfo).port}`;
  const get = async (path: string) => {
    const response = await fetch(`${base}${path}`);
    if (response.status !== 200) throw new Error(`${path}: ${response.status}`);
    return response.text();
  };
  const yaml = await get('/openapi.yaml');
  return {
    yaml,
    documents: { '/openapi.yaml': parse(yaml), '/openapi.json': JSON.parse(await get('/openapi.json')), '/docs/json': JSON.parse(await get('/docs/json')), '/docs/yaml': parse(await get('/docs/yaml')) },
  };
}

t.test('the served documents name PUBLIC_URL as their one server; the file keeps its local default', async (t) => {
  t.same((parse(FILE) as { servers: unknown }).servers, [{ url: 'http://localhost:3000', description: 'Local development (the default PORT)' }], 'the file in the repository');
  for (const publicUrl of [undefined, 'https://auth.example.com']) {
    const roost = await startRoost(t, publicUrl ? { env: { PUBLIC_URL: publicUrl } } : {});
    t.not(roost.config.publicUrl, 'http://localhost:3000', 'not the default');
    const { yaml, documents } = await servedDocuments(roost);
    for (const [path, document] of Object.entries(documents)) {
      t.same(document.servers, [{ url: roost.config.publicUrl }], `${path} names ${roost.config.publicUrl} only`);
      t.same(document, { ...(parse(FILE) as object), servers: [{ url: roost.config.publicUrl }] }, `${path}: otherwise the file's document`);
    }
    t.same(aroundServers(yaml), aroundServers(FILE), '/openapi.yaml is the file\'s text, byte for byte, but for the servers block');
    t.not(yaml, FILE);
  }
});

t.test('servedAt replaces the top-level servers block only, and refuses what it cannot replace cleanly', async (t) => {
  const text = 'openapi: 3.1.0\ninfo: { title: t, version: "1" }\n# the servers\nservers:\n  - url: http://localhost:3000\n    description: local\n\n  - url: http://other\n\n# after\npaths:\n  /servers:\n    get: {}\n';
  const served = servedAt(parseOpenApi(text), 'https://auth.example.com:8443/roost');
  t.equal(
    served.text,
    'openapi: 3.1.0\ninfo: { title: t, version: "1" }\n# the servers\nservers:\n  - url: https://auth.example.com:8443/roost\n\n# after\npaths:\n  /servers:\n    get: {}\n',
    'comments, blank lines and a path named servers stay',
  );
  t.same(served.document, { openapi: '3.1.0', info: { title: 't', version: '1' }, servers: [{ url: 'https://auth.example.com:8443/roost' }], paths: { '/servers': { get: {} } } });
  t.same(Object.keys(served.document), ['openapi', 'info', 'servers', 'paths'], 'the servers keep their place');
  t.same(parseOpenApi(text).document.servers, [{ url: 'http://localhost:3000', description: 'local' }, { url: 'http://other' }], 'the original is left as it was');
  t.throws(() => servedAt(parseOpenApi('openapi: 3.1.0\npaths: {}\n'), 'http://a'), /no top-level servers block/);
  t.throws(() => servedAt(parseOpenApi('openapi: 3.1.0\nservers: [\n  { url: http://a }\n]\npaths: {}\n'), 'http://b'), 'a block that does not end where its indentation does');
});

t.test('header parameters carry no example for "Try it out" to fill in and send', async (t) => {
  type Parameter = { name?: string; in?: string; $ref?: string; description?: string; example?: unknown; examples?: unknown; schema?: Record<string, unknown> };
  const document = parse(FILE) as { paths: Record<string, Record<string, { parameters?: Parameter[] }>>; components?: { parameters?: Record<string, Parameter> } };
  const resolved = (parameter: Parameter) => (parameter.$ref ? (document.components?.parameters?.[parameter.$ref.split('/').pop() ?? ''] ?? {}) : parameter);
  const headers = Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item).flatMap(([method, operation]) =>
      (operation.parameters ?? []).map(resolved).filter((parameter) => parameter.in === 'header').map((parameter) => ({ at: `${method.toUpperCase()} ${path} ${parameter.name}`, parameter })),
    ),
  );
  t.ok(headers.length > 0, `the document has header parameters (${headers.map(({ at }) => at).join(', ')})`);
  for (const { at, parameter } of headers) {
    const filled = ['example', 'examples'].filter((key) => key in parameter).concat(['example', 'examples', 'default'].filter((key) => key in (parameter.schema ?? {})).map((key) => `schema.${key}`));
    t.same(filled, [], `${at}: nothing to pre-fill`);
    t.ok(parameter.description, `${at}: described`);
  }
});
