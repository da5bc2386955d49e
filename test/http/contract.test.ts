// openapi.yaml is the contract: the routes roost registers are exactly the
// operations it documents, it serves the document and a reference page
// built from it, and the document passes the linter (see package.json).
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { parse } from 'yaml';
import { buildApp, routeTable } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createDeps } from '../../src/deps.js';
import { createLogger } from '../../src/ops/logger.js';
import { contract, isOutsideTheDocument, toOpenApiPath } from '../helpers/contract.js';
import { createTestSchema, startRoost, TEST_REDIS_URL } from '../helpers/roost.js';

/** The documented operations, less those of the given tags (served only when configured). */
function documented(...without: string[]): string[] {
  const left = new Set(without.flatMap((tag) => contract().operations({ tag })));
  return contract().operations().filter((operation) => !left.has(operation));
}

function served(routes: ReturnType<typeof routeTable>): string[] {
  return routes.filter((r) => !isOutsideTheDocument(r.method, r.url)).map((r) => `${r.method} ${toOpenApiPath(r.url)}`);
}

/** Routes a plugin hides from generated documents must be ones the document itself says it leaves out. */
function hiddenButDocumentable(routes: ReturnType<typeof routeTable>): string[] {
  return routes.filter((r) => r.hidden && !isOutsideTheDocument(r.method, r.url)).map((r) => `${r.method} ${r.url}`);
}

t.test('with the sandbox on (and a database of its own), the routes are the documented operations less the admin API’s and the OpenID Connect provider’s', async (t) => {
  // The sandbox exists only without a Twitter app, so this instance is built in sandbox mode.
  const config = loadConfig({
    PORT: '0',
    SANDBOX: 'true',
    DATABASE_URL: await createTestSchema(t),
    REDIS_URL: TEST_REDIS_URL,
    COOKIE_SECRET: randomBytes(32).toString('hex'),
    ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    LOG_LEVEL: 'silent',
  });
  t.equal(config.sandbox, true);
  const logger = createLogger('silent');
  const deps = await createDeps(config, logger, { redisKeyPrefix: `roost-test:${randomBytes(6).toString('hex')}:` });
  const app = await buildApp(config, deps, logger);
  t.teardown(async () => {
    await app.close();
    await deps.close();
  });
  await app.ready();
  t.same(served(routeTable(app)).sort(), documented('admin', 'oidc').sort());
  t.same(hiddenButDocumentable(routeTable(app)), []);
  t.ok(routeTable(app).some((r) => r.method === 'GET' && r.url.startsWith('/docs')), 'the docs page is served, outside the document');
});

t.test('with the sandbox off, the routes are the documented operations less those tagged sandbox, admin or oidc', async (t) => {
  const roost = await startRoost(t);
  t.same(roost.config.admin.keys, [], 'no ADMIN_API_KEYS');
  t.same(served(routeTable(roost.app)).sort(), documented('sandbox', 'admin', 'oidc').sort());
  t.same(hiddenButDocumentable(routeTable(roost.app)), []);
  const sandbox = await fetch(`${roost.url}/sandbox/twitter/oauth/authenticate?oauth_token=x`);
  t.equal(sandbox.status, 404, 'the sandbox is not served when a Twitter app is configured');
  await sandbox.arrayBuffer();
});

t.test('with ADMIN_API_KEYS and OIDC_CLIENTS, the admin API’s and the OpenID Connect provider’s operations are served too', async (t) => {
  const clients = [{ client_id: 'app', redirect_uris: ['https://app.example.com/cb'] }];
  const roost = await startRoost(t, { env: { ADMIN_API_KEYS: randomBytes(32).toString('hex'), OIDC_CLIENTS: JSON.stringify(clients) } });
  const admin = contract().operations({ tag: 'admin' });
  t.ok(admin.length > 0, 'the document has admin operations');
  t.ok(admin.every((operation) => operation.split(' ')[1]?.startsWith('/admin/')), 'each under /admin/');
  t.same(served(routeTable(roost.app)).sort(), documented('sandbox').sort());
  t.same(hiddenButDocumentable(routeTable(roost.app)), []);
});

t.test('the document is served as YAML, as JSON and as a reference page with local assets', async (t) => {
  const roost = await startRoost(t);
  const yamlText = await (await fetch(`${roost.url}/openapi.yaml`)).text();
  const json = await (await fetch(`${roost.url}/openapi.json`)).json();
  t.same(json, parse(yamlText));
  t.same(json, { ...contract().document, servers: [{ url: roost.url }] }, 'the file’s document, served at PUBLIC_URL');

  const page = await fetch(`${roost.url}/docs/`);
  t.equal(page.status, 200);
  const html = await page.text();
  t.match(html, /swagger-ui/i);
  const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] as string);
  t.ok(assets.length > 0, 'the page loads assets');
  for (const asset of assets) {
    t.notMatch(asset, /^(https?:)?\/\//, `${asset} is served locally`);
    const response = await fetch(new URL(asset, `${roost.url}/docs/`));
    t.equal(response.status, 200, `${asset} is served`);
    await response.arrayBuffer();
  }
  const initializer = await (await fetch(`${roost.url}/docs/static/swagger-initializer.js`)).text();
  t.match(initializer, /openapi\.json/, 'the page renders roost\'s own document');
});

t.test('the document says what it leaves out, and describes none of it', async (t) => {
  const roost = await startRoost(t);
  const covers = (contract().document.info as { description: string }).description.split('## What this document covers')[1] ?? '';
  for (const path of ['/docs/', '/docs/json', '/docs/yaml', 'OPTIONS', 'HEAD']) t.match(covers, path, `it names ${path}`);
  t.same(
    contract().operations().filter((operation) => isOutsideTheDocument(...(operation.split(' ') as [string, string]))),
    [],
  );
  for (const path of ['/docs', '/docs/', '/docs/json', '/docs/yaml']) {
    const response = await fetch(`${roost.url}${path}`, { redirect: 'manual' });
    t.equal(response.status, 200, `${path} is served`);
    await response.arrayBuffer();
  }
});
