import { createHash } from 'node:crypto';
import t from 'tap';
import { stringify } from 'yaml';
import { checkClientEntry, parseOidcClients, staticClientStore, type OidcClient } from '../../src/oidc/clients.js';

const SECRET = 'S3cret-value-that-is-long-enough-0123456789';
const WEB = { client_id: 'web', client_secret: SECRET, redirect_uris: ['https://app.example.com/callback'] };
const SPA = { client_id: 'spa.app_1~x', redirect_uris: ['http://127.0.0.1/cb', 'https://spa.example.com/cb?tenant=7'], post_logout_redirect_uris: ['https://spa.example.com/bye'] };

function parsedJson(value: unknown): OidcClient[] {
  const parsed = parseOidcClients(JSON.stringify(value), 'OIDC_CLIENTS', 'json');
  if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
  return [...parsed.clients];
}

function problemsOf(value: unknown, format: 'json' | 'yaml' = 'json'): string[] {
  const text = format === 'json' ? JSON.stringify(value) : stringify(value);
  const parsed = parseOidcClients(text, format === 'json' ? 'OIDC_CLIENTS' : 'OIDC_CLIENTS_FILE', format);
  return parsed.ok ? [] : [...parsed.problems];
}

/** The problems of one entry, as they are printed for client 1. */
function entryProblems(entry: Record<string, unknown>): string[] {
  return problemsOf([entry]);
}

t.test('a confidential client: both secret methods by default, RS256, its id as its name', async (t) => {
  const [web] = parsedJson([WEB]);
  t.equal(web!.clientId, 'web');
  t.equal(web!.name, 'web');
  t.equal(web!.type, 'confidential');
  t.same(web!.authMethods, ['client_secret_basic', 'client_secret_post']);
  t.equal(web!.idTokenAlg, 'RS256');
  t.same(web!.redirectUris.map((uri) => uri.written), ['https://app.example.com/callback']);
  t.same(web!.postLogoutRedirectUris, []);
  t.same(web!.secretDigest, createHash('sha256').update(SECRET).digest(), 'the SHA-256 of the secret');
  t.notMatch(JSON.stringify(web), SECRET, 'the secret itself is not kept');
  t.ok(Object.isFrozen(web), 'clients are frozen');
});

t.test('a public client: no secret, method none, loopback http allowed', async (t) => {
  const [spa] = parsedJson([SPA]);
  t.equal(spa!.type, 'public');
  t.equal(spa!.secretDigest, null);
  t.same(spa!.authMethods, ['none']);
  t.same(
    spa!.redirectUris.map((uri) => [uri.written, uri.loopback]),
    [
      ['http://127.0.0.1/cb', true],
      ['https://spa.example.com/cb?tenant=7', false],
    ],
  );
  t.same(spa!.postLogoutRedirectUris.map((uri) => uri.written), ['https://spa.example.com/bye']);
});

t.test('every optional field, and the same list written in YAML', async (t) => {
  const entries = [
    { ...WEB, name: 'The web app', token_endpoint_auth_method: 'client_secret_post', id_token_signed_response_alg: 'ES256' },
    { ...SPA, client_id: 'spa', token_endpoint_auth_method: 'none', id_token_signed_response_alg: 'EdDSA', name: 'SPA ✓' },
    { ...WEB, client_id: 'basic-only', token_endpoint_auth_method: 'client_secret_basic', id_token_signed_response_alg: 'RS256' },
  ];
  const fromJson = parsedJson(entries);
  t.same(
    fromJson.map((client) => [client.clientId, client.name, client.type, client.authMethods, client.idTokenAlg]),
    [
      ['web', 'The web app', 'confidential', ['client_secret_post'], 'ES256'],
      ['spa', 'SPA ✓', 'public', ['none'], 'EdDSA'],
      ['basic-only', 'basic-only', 'confidential', ['client_secret_basic'], 'RS256'],
    ],
  );
  const fromYaml = parseOidcClients(stringify(entries), 'OIDC_CLIENTS_FILE', 'yaml');
  t.ok(fromYaml.ok);
  t.same(fromYaml.ok && fromYaml.clients, fromJson, 'YAML and JSON give the same clients');
  // A hand-written YAML file, as an operator would keep one.
  const handWritten = parseOidcClients(
    `# OIDC clients\n- client_id: web\n  client_secret: "${SECRET}"\n  redirect_uris:\n    - https://app.example.com/callback\n`,
    'OIDC_CLIENTS_FILE',
    'yaml',
  );
  t.same(handWritten.ok && handWritten.clients, parsedJson([WEB]));
  t.ok(parseOidcClients(`\uFEFF${JSON.stringify([WEB])}`, 'OIDC_CLIENTS', 'json').ok, 'a byte order mark is skipped');
});

t.test('each field refused with a message naming the client, the field and the fix', async (t) => {
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['client_id missing', { redirect_uris: WEB.redirect_uris }, /^OIDC_CLIENTS client 1 \(no client_id\): client_id is required$/],
    ['client_id a number', { ...WEB, client_id: 42 }, /client 1 \(no client_id\): client_id must be a string \(got a number: quote it\)$/],
    ['client_id null', { ...WEB, client_id: null }, /client_id must be a string \(got null\)$/],
    ['client_id empty', { ...WEB, client_id: '' }, /client_id must be 1 to 128 characters of A-Z a-z 0-9 \. _ ~ -$/],
    ['client_id with a space', { ...WEB, client_id: 'my app' }, /client 1 \(client_id "my app"\): client_id must be 1 to 128 characters/],
    ['client_id with a colon', { ...WEB, client_id: 'a:b' }, /client_id must be 1 to 128 characters/],
    ['client_id with a slash', { ...WEB, client_id: 'https://app.example.com' }, /client_id must be 1 to 128 characters/],
    ['client_id too long', { ...WEB, client_id: 'a'.repeat(129) }, /client_id must be 1 to 128 characters/],
    ['client_id non-ASCII', { ...WEB, client_id: 'wéb' }, /client_id must be 1 to 128 characters/],
    ['secret too short', { ...WEB, client_secret: 'x'.repeat(31) }, /client 1 \(client_id "web"\): client_secret must be 32 to 512 visible ASCII characters with no spaces \(make one with: openssl rand -hex 32\); leave the field out for a public client$/],
    ['secret empty', { ...WEB, client_secret: '' }, /client_secret must be 32 to 512/],
    ['secret with a space', { ...WEB, client_secret: `${'x'.repeat(32)} y` }, /client_secret must be 32 to 512/],
    ['secret with a newline', { ...WEB, client_secret: `${'x'.repeat(32)}\n` }, /client_secret must be 32 to 512/],
    ['secret non-ASCII', { ...WEB, client_secret: `${'x'.repeat(32)}é` }, /client_secret must be 32 to 512/],
    ['secret too long', { ...WEB, client_secret: 'x'.repeat(513) }, /client_secret must be 32 to 512/],
    ['secret null', { ...WEB, client_secret: null }, /client_secret must be a string \(got null\); leave the field out for a public client$/],
    ['secret a number', { ...WEB, client_secret: 12345678901234567890 }, /client_secret must be a string \(got a number: quote it\)/],
    ['redirect_uris missing', { client_id: 'web' }, /redirect_uris is required: the exact URLs of the app that receive the sign-in/],
    ['redirect_uris a string', { client_id: 'web', redirect_uris: 'https://app.example.com/cb' }, /redirect_uris must be a list of URLs, such as \["https:\/\/app\.example\.com\/cb"\]$/],
    ['redirect_uris empty', { client_id: 'web', redirect_uris: [] }, /redirect_uris must list at least one URL$/],
    ['redirect_uris entry a number', { client_id: 'web', redirect_uris: [7] }, /redirect_uris entry 1 must be a string$/],
    ['plain http', { client_id: 'web', redirect_uris: ['http://app.example.com/cb'] }, /redirect_uris entry 1 "http:\/\/app\.example\.com\/cb" must use https; plain http is allowed only for localhost, 127\.0\.0\.1 and \[::1\] \(RFC 8252 §7\.3\)$/],
    ['https on a fragment', { client_id: 'web', redirect_uris: ['https://app.example.com/cb#x'] }, /entry 1 "https:\/\/app\.example\.com\/cb#x" must not contain a fragment \(RFC 6749 §3\.1\.2\)$/],
    ['an empty fragment', { client_id: 'web', redirect_uris: ['https://app.example.com/cb#'] }, /must not contain a fragment/],
    ['credentials', { client_id: 'web', redirect_uris: ['https://user:pw@app.example.com/cb'] }, /must not contain credentials/],
    ['relative', { client_id: 'web', redirect_uris: ['/callback'] }, /must be an absolute http or https URL/],
    ['a custom scheme', { client_id: 'web', redirect_uris: ['com.example.app:/callback'] }, /must be an absolute http or https URL/],
    ['javascript:', { client_id: 'web', redirect_uris: ['javascript:alert(1)'] }, /must be an absolute http or https URL/],
    ['whitespace', { client_id: 'web', redirect_uris: [' https://app.example.com/cb'] }, /contains whitespace/],
    ['a trailing ?', { client_id: 'web', redirect_uris: ['https://app.example.com/cb?'] }, /must not end with \? or &/],
    ['code in the query', { client_id: 'web', redirect_uris: ['https://app.example.com/cb?code=1'] }, /must not carry code in its query: roost adds it$/],
    ['state and iss in the query', { client_id: 'web', redirect_uris: ['https://app.example.com/cb?state=&iss=x'] }, /must not carry state, iss in its query: roost adds them$/],
    ['error in the query', { client_id: 'web', redirect_uris: ['https://app.example.com/cb?error=x'] }, /must not carry error in its query/],
    ['listed twice', { client_id: 'web', redirect_uris: ['https://app.example.com/cb', 'https://app.example.com/cb'] }, /redirect_uris entry 2 "https:\/\/app\.example\.com\/cb" is listed twice$/],
    ['post-logout not a list', { ...WEB, post_logout_redirect_uris: 'https://app.example.com/' }, /post_logout_redirect_uris must be a list of URLs/],
    ['post-logout plain http', { ...WEB, post_logout_redirect_uris: ['http://app.example.com/'] }, /post_logout_redirect_uris entry 1 "http:\/\/app\.example\.com\/" must use https/],
    ['post-logout with state', { ...WEB, post_logout_redirect_uris: ['https://app.example.com/?state=1'] }, /post_logout_redirect_uris entry 1 .* must not carry state in its query/],
    ['name empty', { ...WEB, name: ' ' }, /name must be 1 to 200 characters without control characters$/],
    ['name with a newline', { ...WEB, name: 'a\nb' }, /name must be 1 to 200 characters/],
    ['name too long', { ...WEB, name: 'n'.repeat(201) }, /name must be 1 to 200 characters/],
    ['name a list', { ...WEB, name: ['x'] }, /name must be a string \(got a list\)$/],
    ['alg none', { ...WEB, id_token_signed_response_alg: 'none' }, /id_token_signed_response_alg must be one of RS256, ES256, EdDSA \(got "none"\); leave it out for RS256$/],
    ['alg HS256', { ...WEB, id_token_signed_response_alg: 'HS256' }, /id_token_signed_response_alg must be one of RS256, ES256, EdDSA \(got "HS256"\)/],
    ['alg lower case', { ...WEB, id_token_signed_response_alg: 'rs256' }, /id_token_signed_response_alg must be one of/],
    ['alg null', { ...WEB, id_token_signed_response_alg: null }, /id_token_signed_response_alg must be one of RS256, ES256, EdDSA \(got null\)/],
    ['method unknown', { ...WEB, token_endpoint_auth_method: 'private_key_jwt' }, /token_endpoint_auth_method must be one of client_secret_basic, client_secret_post, none \(got "private_key_jwt"\)$/],
    ['method none with a secret', { ...WEB, token_endpoint_auth_method: 'none' }, /token_endpoint_auth_method is none but client_secret is set: leave out client_secret for a public client \(it must use PKCE\), or choose client_secret_basic or client_secret_post$/],
    ['basic without a secret', { ...SPA, token_endpoint_auth_method: 'client_secret_basic' }, /token_endpoint_auth_method is client_secret_basic but there is no client_secret: add one \(at least 32 characters\), or choose none for a public client$/],
    ['post without a secret', { ...SPA, token_endpoint_auth_method: 'client_secret_post' }, /token_endpoint_auth_method is client_secret_post but there is no client_secret/],
    ['Dex spelling: id', { id: 'web', client_id: 'web', redirect_uris: WEB.redirect_uris }, /unknown field "id": write client_id$/],
    ['Dex spelling: redirectURIs', { client_id: 'web', redirectURIs: ['https://a.example/'], redirect_uris: WEB.redirect_uris }, /unknown field "redirectURIs": write redirect_uris$/],
    ['singular redirect_uri', { client_id: 'web', redirect_uri: 'https://a.example/', redirect_uris: WEB.redirect_uris }, /unknown field "redirect_uri": write redirect_uris \(a list\)$/],
    ['Dex public: true', { ...SPA, public: true }, /unknown field "public": a client without client_secret is public: leave out both$/],
    ['a typo', { ...WEB, nmae: 'x' }, /unknown field "nmae": the fields are client_id, client_secret, redirect_uris, post_logout_redirect_uris, name, id_token_signed_response_alg, token_endpoint_auth_method$/],
    ['constructor', { ...WEB, constructor: 'x' }, /unknown field "constructor": the fields are client_id, /],
    ['toString', { ...WEB, toString: 'x' }, /unknown field "toString": the fields are client_id, /],
    ['__proto__', JSON.parse(`{"client_id":"web","redirect_uris":["https://a.example/"],"__proto__":{"x":1}}`) as Record<string, unknown>, /unknown field "__proto__"/],
  ];
  for (const [name, entry, expected] of cases) {
    const problems = entryProblems(entry);
    t.equal(problems.length, 1, `${name}: one problem (${problems.join(' | ')})`);
    t.match(problems[0], expected, name);
    t.match(problems[0], /^OIDC_CLIENTS client 1 \(/, `${name}: names the source and the client`);
  }
});

t.test('an entry that is not an object', async (t) => {
  for (const entry of ['web', 1, null, [WEB], true]) {
    t.same(problemsOf([entry]), [`OIDC_CLIENTS client 1 (no client_id): must be an object with client_id and redirect_uris`], JSON.stringify(entry));
  }
});

t.test('all the problems at once, each with its client, and the secret in none of them', async (t) => {
  const problems = problemsOf([
    WEB,
    { client_id: 'b', client_secret: SECRET.slice(0, 20), redirect_uris: ['http://b.example/cb'], token_endpoint_auth_method: 'none' },
    { ...SPA, client_id: 'web' },
    { client_id: 'b', redirect_uris: [] },
    { client_id: 'c', client_secret: SECRET, redirect_uris: ['https://c.example/cb'], post_logout_redirect_uris: ['https://c.example/#x'], id_token_signed_response_alg: 'PS256' },
  ]);
  t.same(problems, [
    'OIDC_CLIENTS client 2 (client_id "b"): client_secret must be 32 to 512 visible ASCII characters with no spaces (make one with: openssl rand -hex 32); leave the field out for a public client',
    'OIDC_CLIENTS client 2 (client_id "b"): redirect_uris entry 1 "http://b.example/cb" must use https; plain http is allowed only for localhost, 127.0.0.1 and [::1] (RFC 8252 §7.3)',
    'OIDC_CLIENTS client 2 (client_id "b"): token_endpoint_auth_method is none but client_secret is set: leave out client_secret for a public client (it must use PKCE), or choose client_secret_basic or client_secret_post',
    'OIDC_CLIENTS client 3 (client_id "web"): client_id is already used by client 1: each client_id must be unique',
    'OIDC_CLIENTS client 4 (client_id "b"): redirect_uris must list at least one URL',
    'OIDC_CLIENTS client 4 (client_id "b"): client_id is already used by client 2: each client_id must be unique',
    'OIDC_CLIENTS client 5 (client_id "c"): post_logout_redirect_uris entry 1 "https://c.example/#x" must not contain a fragment (RFC 6749 §3.1.2)',
    'OIDC_CLIENTS client 5 (client_id "c"): id_token_signed_response_alg must be one of RS256, ES256, EdDSA (got "PS256"); leave it out for RS256',
  ]);
  for (const problem of problems) t.notMatch(problem, SECRET.slice(0, 20), 'no problem quotes a secret');
});

t.test('the document as a whole', async (t) => {
  const cases: Array<[string, string, 'json' | 'yaml', string]> = [
    ['empty', '', 'json', 'OIDC_CLIENTS is empty: list the clients, or unset OIDC_CLIENTS'],
    ['blank YAML', '  \n', 'yaml', 'OIDC_CLIENTS is empty: list the clients, or unset OIDC_CLIENTS'],
    ['an empty list', '[]', 'json', 'OIDC_CLIENTS lists no clients: add one, or unset OIDC_CLIENTS'],
    ['an object', JSON.stringify({ staticClients: [WEB] }), 'json', 'OIDC_CLIENTS must be a list of clients at its top level, such as [{"client_id": "my-app", "client_secret": "…", "redirect_uris": ["https://app.example.com/callback"]}]'],
    ['a YAML mapping', stringify({ clients: [WEB] }), 'yaml', 'OIDC_CLIENTS must be a list of clients at its top level'],
    ['a string', '"web"', 'json', 'OIDC_CLIENTS must be a list of clients'],
    ['null', 'null', 'json', 'OIDC_CLIENTS must be a list of clients'],
    ['a YAML null', '~', 'yaml', 'OIDC_CLIENTS must be a list of clients'],
  ];
  for (const [name, text, format, expected] of cases) {
    const parsed = parseOidcClients(text, 'OIDC_CLIENTS', format);
    t.notOk(parsed.ok, name);
    t.equal(parsed.ok ? undefined : parsed.problems.length, 1, name);
    t.ok(!parsed.ok && parsed.problems[0]!.startsWith(expected), `${name}: ${parsed.ok ? '' : parsed.problems[0]}`);
  }
});

t.test('a document that does not parse is located, never quoted', async (t) => {
  const secret = 'do-not-print-me-0123456789abcdefghijklmnop';
  const cases: Array<[string, string, 'json' | 'yaml', string]> = [
    ['JSON: a stray word', `[{"client_id": "web",\n  "client_secret": "${secret}" x}]`, 'json', 'OIDC_CLIENTS is not valid JSON at line 2, column '],
    ['JSON: a trailing comma', `[{"client_id": "web", "client_secret": "${secret}",}]`, 'json', 'OIDC_CLIENTS is not valid JSON at line 1, column '],
    ['JSON: cut short', `[{"client_secret": "${secret}"`, 'json', 'OIDC_CLIENTS is not valid JSON'],
    ['JSON: a bad literal', `{"client_secret": tru, "x": "${secret}"}`, 'json', 'OIDC_CLIENTS is not valid JSON'],
    ['JSON: YAML given as JSON', `- client_id: web\n  client_secret: ${secret}\n`, 'json', 'OIDC_CLIENTS is not valid JSON'],
    ['YAML: a colon in a plain secret', `- client_id: web\n  client_secret: ${secret}: x\n`, 'yaml', 'OIDC_CLIENTS is not valid YAML (BLOCK_AS_IMPLICIT_KEY at line 2, column '],
    ['YAML: a key twice', `- client_id: web\n  client_secret: ${secret}\n  client_secret: ${secret}\n`, 'yaml', 'OIDC_CLIENTS is not valid YAML (DUPLICATE_KEY at line 3, column 3)'],
    ['YAML: two documents', `- client_id: a\n---\n- client_secret: ${secret}\n`, 'yaml', 'OIDC_CLIENTS is not valid YAML (MULTIPLE_DOCS at line 2, column 1)'],
    ['YAML: a tab', `- client_id: web\n\tclient_secret: ${secret}\n`, 'yaml', 'OIDC_CLIENTS is not valid YAML ('],
    ['YAML: an open flow list', `- redirect_uris: [https://a.example/,\n  client_secret: ${secret}\n`, 'yaml', 'OIDC_CLIENTS is not valid YAML ('],
  ];
  for (const [name, text, format, expected] of cases) {
    const parsed = parseOidcClients(text, 'OIDC_CLIENTS', format);
    const problems = parsed.ok ? [] : parsed.problems;
    t.equal(problems.length, 1, name);
    t.ok(problems[0]?.startsWith(expected), `${name}: ${problems[0]}`);
    t.match(problems[0], /the text is not repeated here, as it may hold client secrets$/, name);
    t.notMatch(problems[0], secret, `${name}: the text is not quoted`);
    t.notMatch(problems[0], /do-not|client_secret/, `${name}: nor any part of it`);
  }
});

t.test('YAML: an alias bomb is refused, not expanded', async (t) => {
  const lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
  for (let level = 1; level < 9; level += 1) {
    const previous = String.fromCharCode(96 + level);
    const next = String.fromCharCode(97 + level);
    lines.push(`${next}: &${next} [${Array(10).fill(`*${previous}`).join(',')}]`);
  }
  const parsed = parseOidcClients(`${lines.join('\n')}\n`, 'OIDC_CLIENTS_FILE', 'yaml');
  t.same(parsed, { ok: false, problems: ['OIDC_CLIENTS_FILE is not valid YAML (its aliases expand too far)'] });
});

t.test('YAML reads unquoted words its own way: the message says to quote them', async (t) => {
  const parsed = parseOidcClients('- client_id: 20240101\n  redirect_uris: [https://a.example/cb]\n  name: yes\n', 'OIDC_CLIENTS_FILE', 'yaml');
  t.same(parsed.ok ? [] : parsed.problems, ['OIDC_CLIENTS_FILE client 1 (no client_id): client_id must be a string (got a number: quote it)']);
  // YAML 1.2: yes is a string, true is not.
  const named = parseOidcClients('- client_id: web\n  redirect_uris: [https://a.example/cb]\n  name: true\n', 'OIDC_CLIENTS_FILE', 'yaml');
  t.same(named.ok ? [] : named.problems, ['OIDC_CLIENTS_FILE client 1 (client_id "web"): name must be a string (got a boolean: quote it)']);
});

t.test('checkClientEntry checks one entry on its own, for clients added later', async (t) => {
  const good = checkClientEntry(WEB);
  t.same(good.problems, []);
  t.equal(good.client?.clientId, 'web');
  const bad = checkClientEntry({ client_id: 'x' });
  t.equal(bad.client, undefined);
  t.same(bad.problems, ['redirect_uris is required: the exact URLs of the app that receive the sign-in, such as ["https://app.example.com/callback"]']);
});

t.test('the static store finds a client by its id, and nothing else', async (t) => {
  const clients = parsedJson([WEB, SPA]);
  const store = staticClientStore(clients);
  t.equal(store.find('web'), clients[0]);
  t.equal(store.find('spa.app_1~x'), clients[1]);
  for (const other of ['WEB', 'web ', '', 'constructor', '__proto__', 'toString', 'hasOwnProperty']) {
    t.equal(store.find(other), undefined, JSON.stringify(other));
  }
  t.throws(() => staticClientStore([clients[0]!, clients[0]!]), /unique/);
});

t.test('OIDC_CLIENTS and OIDC_CLIENTS_FILE in the configuration', async (t) => {
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const path = await import('node:path');
  const { ConfigError, DEMO_CLIENT_ID, loadConfig, loadKeysCommandConfig } = await import('../../src/config.js');
  const dir = mkdtempSync(path.join(tmpdir(), 'roost-oidc-clients-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const database = { DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test', PUBLIC_URL: 'https://auth.example.com' };
  const problems = (env: Record<string, string>): string[] => {
    try {
      loadConfig(env);
      return [];
    } catch (error) {
      if (error instanceof ConfigError) return [...error.problems];
      throw error;
    }
  };

  t.equal(loadConfig({ ...database, SANDBOX: 'true' }).oidc, undefined, 'off without clients (and outside the zero-configuration sandbox)');
  const demo = loadConfig({}).oidc;
  t.same(demo?.clientList.map((client) => [client.clientId, client.type, client.redirectUris.map((uri) => uri.written)]), [[DEMO_CLIENT_ID, 'public', ['http://localhost:3000/']]], 'the zero-configuration sandbox registers its demo client');

  const inline = loadConfig({ ...database, SANDBOX: 'true', OIDC_CLIENTS: JSON.stringify([WEB, { ...SPA, id_token_signed_response_alg: 'EdDSA' }]) }).oidc;
  t.same(inline?.clientList.map((client) => client.clientId), ['web', 'spa.app_1~x']);
  t.same(inline?.idTokenAlgs, ['RS256', 'EdDSA'], 'RS256 always, and what a client asks for');
  t.ok(inline?.clients.find('web'));
  t.same(loadConfig({ ...database, SANDBOX: 'true', OIDC_CLIENTS: JSON.stringify([SPA]) }).corsOrigins.includes('https://spa.example.com'), true, 'a public client’s pages may call /token and /userinfo');

  writeFileSync(path.join(dir, 'clients.yaml'), stringify([WEB]));
  writeFileSync(path.join(dir, 'clients.json'), JSON.stringify([SPA]));
  writeFileSync(path.join(dir, 'clients.txt'), JSON.stringify([SPA]));
  t.same(loadConfig({ ...database, SANDBOX: 'true', OIDC_CLIENTS_FILE: path.join(dir, 'clients.yaml') }).oidc?.clientList.map((client) => client.clientId), ['web'], 'a YAML file');
  t.same(loadConfig({ ...database, SANDBOX: 'true', OIDC_CLIENTS_FILE: path.join(dir, 'clients.json') }).oidc?.clientList.map((client) => client.clientId), ['spa.app_1~x'], 'a JSON file');
  t.match(problems({ ...database, SANDBOX: 'true', OIDC_CLIENTS_FILE: path.join(dir, 'clients.txt') }), [/^OIDC_CLIENTS_FILE must end in \.json, \.yaml or \.yml/]);
  t.match(problems({ ...database, SANDBOX: 'true', OIDC_CLIENTS_FILE: path.join(dir, 'missing.yaml') }), [/^OIDC_CLIENTS_FILE ".*missing\.yaml" cannot be read: ENOENT$/]);
  t.match(problems({ ...database, SANDBOX: 'true', OIDC_CLIENTS: '[]', OIDC_CLIENTS_FILE: path.join(dir, 'clients.json') }), [/^OIDC_CLIENTS and OIDC_CLIENTS_FILE are both set/]);
  const bad = problems({ ...database, SANDBOX: 'true', OIDC_CLIENTS: JSON.stringify([{ ...WEB, client_secret: 'short' }]) });
  t.match(bad, [/^OIDC_CLIENTS client 1 \(client_id "web"\): client_secret/], 'a bad entry names the client and the field');
  t.notOk(bad.join('\n').includes('short'), 'and does not repeat the secret');
  t.match(problems({ ...database, SANDBOX: 'true', OIDC_CLIENTS: JSON.stringify([WEB]), JWT_AUDIENCE: 'https://auth.example.com/userinfo' }), [/^JWT_AUDIENCE must not be PUBLIC_URL\/userinfo/]);
  t.same(loadKeysCommandConfig({ ...database, ENCRYPTION_KEY: 'a'.repeat(64), OIDC_CLIENTS: JSON.stringify([{ ...WEB, id_token_signed_response_alg: 'ES256' }]) }).oidc?.idTokenAlgs, ['RS256', 'ES256'], 'the keys command keeps the same algorithms');
});
