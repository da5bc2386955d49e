import t from 'tap';
import { authenticateClient, parseBasicCredentials, type ClientCredentials } from '../../../src/oidc/client-auth.js';
import { parseOidcClients, staticClientStore } from '../../../src/oidc/clients.js';

// A secret with the characters form-urlencoding changes: + % & = : and /.
const SECRET = 'a+b%20c&d=e:f/g_0123456789abcdefghijklmnop';
const OTHER_SECRET = 'another-secret-0123456789-abcdefghijklmnop';
const REDIRECT = ['https://app.example.com/cb'];

const parsed = parseOidcClients(
  JSON.stringify([
    { client_id: 'either', client_secret: SECRET, redirect_uris: REDIRECT },
    { client_id: 'basic-only', client_secret: SECRET, redirect_uris: REDIRECT, token_endpoint_auth_method: 'client_secret_basic' },
    { client_id: 'post-only', client_secret: OTHER_SECRET, redirect_uris: REDIRECT, token_endpoint_auth_method: 'client_secret_post' },
    { client_id: 'spa', redirect_uris: REDIRECT },
  ]),
  'OIDC_CLIENTS',
  'json',
);
if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
const clients = staticClientStore(parsed.clients);

/** RFC 6749 §2.3.1: each half form-urlencoded, then joined by a colon and base64-encoded. */
function basic(clientId: string, secret: string, encode = true): string {
  const form = (value: string) => (encode ? new URLSearchParams({ v: value }).toString().slice(2) : value);
  return `Basic ${Buffer.from(`${form(clientId)}:${form(secret)}`).toString('base64')}`;
}

function credentials(fields: Partial<ClientCredentials>): ClientCredentials {
  return { authorization: undefined, clientId: undefined, clientSecret: undefined, ...fields };
}

t.test('client_secret_basic, with the halves form-urlencoded', async (t) => {
  const result = authenticateClient(credentials({ authorization: basic('either', SECRET) }), clients);
  t.equal(result.ok && result.client.clientId, 'either');
  t.equal(result.ok && result.method, 'client_secret_basic');
  t.ok(authenticateClient(credentials({ authorization: basic('basic-only', SECRET) }), clients).ok, 'a client registered for Basic only');
  // Encoded by hand, as RFC 6749 §2.3.1 shows: a space may be + or %20.
  const byHand = `Basic ${Buffer.from(`either:${SECRET.replace(/%/g, '%25').replace(/\+/g, '%2B').replace(/&/g, '%26')}`).toString('base64')}`;
  t.ok(authenticateClient(credentials({ authorization: byHand }), clients).ok, 'encoded by hand');
  t.ok(authenticateClient(credentials({ authorization: basic('either', SECRET).replace('Basic', 'bAsIc') }), clients).ok, 'the scheme is case-insensitive (RFC 7235 §2.1)');
  t.ok(authenticateClient(credentials({ authorization: basic('either', SECRET), clientId: 'either' }), clients).ok, 'client_id may be repeated in the body');
  t.ok(authenticateClient(credentials({ authorization: basic('either', SECRET), clientId: '', clientSecret: '' }), clients).ok, 'empty body values count as absent');
});

t.test('client_secret_post, and none for a public client', async (t) => {
  const post = authenticateClient(credentials({ clientId: 'either', clientSecret: SECRET }), clients);
  t.equal(post.ok && post.method, 'client_secret_post');
  t.ok(authenticateClient(credentials({ clientId: 'post-only', clientSecret: OTHER_SECRET }), clients).ok);
  const none = authenticateClient(credentials({ clientId: 'spa' }), clients);
  t.equal(none.ok && none.client.clientId, 'spa');
  t.equal(none.ok && none.method, 'none');
  t.ok(authenticateClient(credentials({ clientId: 'spa', clientSecret: '' }), clients).ok, 'an empty client_secret counts as absent (RFC 6749 §3.1)');
});

t.test('refusals: invalid_client, with the Basic challenge when the header was tried', async (t) => {
  const cases: Array<[string, Partial<ClientCredentials>, 'invalid_client' | 'invalid_request', string, boolean]> = [
    ['nothing at all', {}, 'invalid_client', 'client authentication is required: HTTP Basic, or client_id (and client_secret) in the body', false],
    ['a secret without an id', { clientSecret: SECRET }, 'invalid_client', 'client_secret needs client_id', false],
    ['an unknown client (post)', { clientId: 'nobody', clientSecret: SECRET }, 'invalid_client', 'unknown client', false],
    ['an unknown client (none)', { clientId: 'nobody' }, 'invalid_client', 'unknown client', false],
    ['an unknown client (Basic)', { authorization: basic('nobody', SECRET) }, 'invalid_client', 'unknown client', true],
    ['a wrong secret (Basic)', { authorization: basic('either', OTHER_SECRET) }, 'invalid_client', 'the client secret is wrong', true],
    ['a wrong secret (post)', { clientId: 'either', clientSecret: OTHER_SECRET }, 'invalid_client', 'the client secret is wrong', false],
    ['the secret cut short', { clientId: 'either', clientSecret: SECRET.slice(0, -1) }, 'invalid_client', 'the client secret is wrong', false],
    ['the secret with more', { clientId: 'either', clientSecret: `${SECRET}x` }, 'invalid_client', 'the client secret is wrong', false],
    ['the secret in another case', { clientId: 'either', clientSecret: SECRET.toUpperCase() }, 'invalid_client', 'the client secret is wrong', false],
    ['another client’s secret', { clientId: 'either', clientSecret: OTHER_SECRET }, 'invalid_client', 'the client secret is wrong', false],
    ['the secret not form-encoded in Basic (+ reads as a space, %20 as one too)', { authorization: basic('either', SECRET, false) }, 'invalid_client', 'the client secret is wrong', true],
    ['a confidential client sending no secret', { clientId: 'either' }, 'invalid_client', 'this client must authenticate with client_secret_basic or client_secret_post', false],
    ['a Basic-only client posting its secret', { clientId: 'basic-only', clientSecret: SECRET }, 'invalid_client', 'this client must authenticate with client_secret_basic', false],
    ['a post-only client using Basic', { authorization: basic('post-only', OTHER_SECRET) }, 'invalid_client', 'this client must authenticate with client_secret_post', true],
    ['a public client using Basic', { authorization: basic('spa', SECRET) }, 'invalid_client', 'a public client sends client_id alone, without a secret', true],
    ['a public client posting a secret', { clientId: 'spa', clientSecret: SECRET }, 'invalid_client', 'a public client sends client_id alone, without a secret', false],
    ['another scheme', { authorization: 'Bearer abc' }, 'invalid_client', 'the Authorization header must use the Basic scheme', true],
    ['Basic without credentials', { authorization: 'Basic' }, 'invalid_client', 'the Basic credentials are not base64', true],
    ['Basic with a space only', { authorization: 'Basic ' }, 'invalid_client', 'the Basic credentials are not base64', true],
    ['Basic with two tokens', { authorization: `${basic('either', SECRET)} x` }, 'invalid_client', 'the Basic credentials are not base64', true],
    ['Basic with base64url', { authorization: 'Basic ZWl0aGVy_-' }, 'invalid_client', 'the Basic credentials are not base64', true],
    ['Basic with no colon', { authorization: `Basic ${Buffer.from('either').toString('base64')}` }, 'invalid_client', 'the Basic credentials have no colon between client_id and client_secret', true],
    ['Basic with an empty id', { authorization: `Basic ${Buffer.from(`:${SECRET}`).toString('base64')}` }, 'invalid_client', 'the Basic credentials have an empty client_id', true],
    ['Basic with an empty secret', { authorization: `Basic ${Buffer.from('spa:').toString('base64')}` }, 'invalid_client', 'the Basic credentials have an empty client_secret', true],
    ['Basic with a broken escape', { authorization: `Basic ${Buffer.from('either:%zz').toString('base64')}` }, 'invalid_client', 'the Basic credentials are not form-urlencoded', true],
    ['Basic that is not UTF-8', { authorization: `Basic ${Buffer.from([0x65, 0x3a, 0xff, 0xfe]).toString('base64')}` }, 'invalid_client', 'the Basic credentials are not UTF-8', true],
    ['an empty Authorization header', { authorization: '' }, 'invalid_client', 'the Authorization header must use the Basic scheme', true],
    ['two methods at once', { authorization: basic('either', SECRET), clientSecret: SECRET }, 'invalid_request', 'the client authenticated twice: with the Authorization header and with client_secret in the body', false],
    ['two clients at once', { authorization: basic('either', SECRET), clientId: 'basic-only' }, 'invalid_request', 'client_id in the body names another client than the Authorization header', false],
  ];
  for (const [name, fields, error, description, basicChallenge] of cases) {
    t.same(authenticateClient(credentials(fields), clients), { ok: false, error, description, basicChallenge }, name);
    // RFC 6749 §5.2: error_description is %x20-21 / %x23-5B / %x5D-7E.
    t.match(description, /^[\x20\x21\x23-\x5b\x5d-\x7e]+$/, `${name}: a valid error_description`);
  }
});

t.test('parseBasicCredentials decodes both halves', async (t) => {
  t.same(parseBasicCredentials(basic('either', SECRET)), { ok: true, clientId: 'either', clientSecret: SECRET });
  // A colon in the secret: the first colon splits (the id's own is encoded, RFC 7617 §2).
  t.same(parseBasicCredentials(`Basic ${Buffer.from('a%3Ab:c:d').toString('base64')}`), { ok: true, clientId: 'a:b', clientSecret: 'c:d' });
  t.same(parseBasicCredentials(`Basic ${Buffer.from('id:a+b%2Bc').toString('base64')}`), { ok: true, clientId: 'id', clientSecret: 'a b+c' });
  t.same(parseBasicCredentials(`Basic   ${Buffer.from('id:s').toString('base64')}  `), { ok: true, clientId: 'id', clientSecret: 's' }, 'spaces around the token');
  t.same(parseBasicCredentials(`Basic ${Buffer.from('id:sé').toString('base64')}`), { ok: true, clientId: 'id', clientSecret: 'sé' }, 'UTF-8');
});
