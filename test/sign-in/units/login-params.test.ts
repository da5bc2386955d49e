// The query strings of /login and /login/callback as the routes check them:
// first the parameters' schemas in openapi.yaml (types, lengths, characters,
// a parameter given twice), then what goes together, in login-params.ts.
import t from 'tap';
import { parseCallbackParams, parseLoginRequest, type CallbackQuery, type LoginQuery } from '../../../src/sign-in/login-params.js';
import { loadOpenApi, querystringSchema, type SchemaError } from '../../../src/contract/openapi.js';
import { compileRequestSchema, describeQueryError } from '../../../src/http/request-schemas.js';

const spec = loadOpenApi();
// RFC 7636 Appendix B.
const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';
const RETURN_TO = 'https://a.example/';

type Query = Record<string, string | string[]>;

/** The route's order: the document's schema, then the pure checks. */
function checker<T, Q>(path: string, parse: (query: Q) => { ok: true; value: T } | { ok: false; reason: string }) {
  const validate = compileRequestSchema({ schema: querystringSchema(spec, path, 'get') });
  return (query: Query): { ok: true; value: T } | { ok: false; reason: string } => {
    if (!validate(query)) return { ok: false, reason: describeQueryError(validate.errors as SchemaError[]) };
    return parse(query as Q);
  };
}
const login = checker<unknown, LoginQuery>('/login', parseLoginRequest);
const callback = checker<unknown, CallbackQuery>('/login/callback', parseCallbackParams);

t.test('return_to must be there exactly once', async (t) => {
  t.same(login({ return_to: RETURN_TO }), { ok: true, value: {} });
  t.same(login({}), { ok: false, reason: 'return_to is required' });
  t.same(login({ return_to: '' }), { ok: false, reason: 'return_to must NOT have fewer than 1 characters' });
  t.same(login({ return_to: [RETURN_TO, 'https://b.example/'] }), { ok: false, reason: 'return_to must be given once, as a string' });
  t.same(login({ return_to: [RETURN_TO] }), { ok: false, reason: 'return_to must be given once, as a string' }, 'a one-element array is not taken for its element');
  t.same(login({ return_to: '//evil.example/' }), { ok: false, reason: 'return_to must match format "uri"' });
});

t.test('state goes with either mode', async (t) => {
  t.same(parseLoginRequest({}), { ok: true, value: {} }, 'no challenge: the fragment mode');
  t.same(login({ return_to: RETURN_TO, state: 'xyz' }), { ok: true, value: { state: 'xyz' } }, 'the fragment mode takes a state too');
  t.same(login({ return_to: RETURN_TO, state: ' !~' }), { ok: true, value: { state: ' !~' } }, 'VSCHAR ends');
  t.match(login({ return_to: RETURN_TO, state: 'x'.repeat(513) }), { ok: false, reason: /^state must NOT have more than 512 characters$/ }, 'the documented limit, in the fragment mode too');
  t.same(login({ return_to: RETURN_TO, state: 'x'.repeat(512) }), { ok: true, value: { state: 'x'.repeat(512) } });
});

t.test('the code flow parameters', async (t) => {
  t.same(login({ return_to: RETURN_TO, code_challenge: CHALLENGE, code_challenge_method: 'S256' }), { ok: true, value: { codeRequest: { challenge: CHALLENGE } } });
  t.same(login({ return_to: RETURN_TO, code_challenge: CHALLENGE, code_challenge_method: 'S256', state: 'a b/c' }), { ok: true, value: { codeRequest: { challenge: CHALLENGE }, state: 'a b/c' } });
  t.same(login({ return_to: RETURN_TO, code_challenge: CHALLENGE, code_challenge_method: 'S256', state: ' !~' }), { ok: true, value: { codeRequest: { challenge: CHALLENGE }, state: ' !~' } }, 'VSCHAR ends');
  const refused: Array<[Query, RegExp]> = [
    // What goes together: login-params.ts.
    [{ code_challenge: CHALLENGE }, /^code_challenge_method must be S256 \(plain is not accepted\)$/],
    [{ code_challenge_method: 'S256' }, /only with code_challenge/],
    // The rest: openapi.yaml.
    [{ code_challenge: VERIFIER, code_challenge_method: 'plain' }, /^code_challenge_method must be S256$/],
    [{ code_challenge: CHALLENGE, code_challenge_method: 's256' }, /^code_challenge_method must be S256$/],
    [{ code_challenge: 'short', code_challenge_method: 'S256' }, /^code_challenge must match pattern/],
    [{ code_challenge: `${CHALLENGE}=`, code_challenge_method: 'S256' }, /^code_challenge must match pattern/],
    [{ code_challenge: [CHALLENGE, CHALLENGE], code_challenge_method: 'S256' }, /^code_challenge must be given once/],
    [{ code_challenge: CHALLENGE, code_challenge_method: ['S256', 'S256'] }, /^code_challenge_method must be given once/],
    [{ code_challenge: CHALLENGE, code_challenge_method: 'S256', state: ['a', 'b'] }, /^state must be given once/],
    [{ code_challenge: CHALLENGE, code_challenge_method: 'S256', state: '' }, /^state must NOT have fewer than 1 characters$/],
    [{ code_challenge: CHALLENGE, code_challenge_method: 'S256', state: 'x'.repeat(513) }, /^state must NOT have more than 512 characters$/],
    [{ code_challenge: CHALLENGE, code_challenge_method: 'S256', state: 'tab\there' }, /^state must match pattern/],
    [{ code_challenge: CHALLENGE, code_challenge_method: 'S256', state: 'é' }, /^state must match pattern/],
    [{ code_challenge: CHALLENGE, code_challenge_method: 'S256', state: 'del\u007f' }, /^state must match pattern/],
  ];
  for (const [query, reason] of refused) {
    const check = login({ return_to: RETURN_TO, ...query });
    t.equal(check.ok, false, JSON.stringify(query));
    if (!check.ok) t.match(check.reason, reason, JSON.stringify(query));
  }
});

t.test('an approved callback needs one token and one verifier', async (t) => {
  t.same(callback({ oauth_token: 'tok', oauth_verifier: 'ver' }), { ok: true, value: { kind: 'approved', handle: 'tok', grant: 'ver' } });
  t.same(callback({ oauth_token: 'tok', oauth_verifier: 'ver', extra: 'ignored' }), { ok: true, value: { kind: 'approved', handle: 'tok', grant: 'ver' } });
  t.match(callback({ oauth_token: 'tok' }), { ok: false, reason: /required/ });
  t.match(callback({ oauth_verifier: 'ver' }), { ok: false, reason: /required/ });
  t.match(callback({}), { ok: false, reason: /required/ });
});

t.test('a denial names the token and nothing else', async (t) => {
  t.same(callback({ denied: 'tok' }), { ok: true, value: { kind: 'denied', handle: 'tok' } });
  t.match(callback({ denied: 'tok', oauth_token: 'tok' }), { ok: false, reason: /combined/ });
  t.match(callback({ denied: 'tok', oauth_verifier: 'v' }), { ok: false, reason: /combined/ });
});

t.test('repeated or malformed parameters are refused, never first- or last-wins', async (t) => {
  t.match(callback({ oauth_token: ['a', 'b'], oauth_verifier: 'v' }), { ok: false, reason: /^oauth_token must be given once/ });
  t.match(callback({ oauth_token: 'a', oauth_verifier: ['v', 'w'] }), { ok: false, reason: /^oauth_verifier must be given once/ });
  t.match(callback({ denied: ['a', 'a'] }), { ok: false, reason: /^denied must be given once/ });
  t.match(callback({ denied: ['a'] }), { ok: false, reason: /^denied must be given once/ });
  for (const bad of ['', 'has space', 'quote"', 'a<b', 'x'.repeat(513), 'ü', 'a\nb']) {
    for (const name of ['oauth_token', 'oauth_verifier', 'denied']) {
      const query: Query = name === 'denied' ? { denied: bad } : { oauth_token: 't', oauth_verifier: 'v', [name]: bad };
      t.match(callback(query), { ok: false, reason: new RegExp(`^${name} `) }, `${name}: ${JSON.stringify(bad.slice(0, 20))}`);
    }
  }
  t.same(callback({ oauth_token: 'x'.repeat(512), oauth_verifier: 'A-z0.9_~+/=' }), { ok: true, value: { kind: 'approved', handle: 'x'.repeat(512), grant: 'A-z0.9_~+/=' } });
});

t.test('an OAuth 2.0 callback: code and state, or error and state', async (t) => {
  t.same(callback({ code: 'c0de', state: 'st4te' }), { ok: true, value: { kind: 'approved', handle: 'st4te', grant: 'c0de' } });
  t.same(callback({ error: 'access_denied', state: 'st4te' }), { ok: true, value: { kind: 'denied', handle: 'st4te' } });
  t.same(callback({ error: 'access_denied', error_description: 'The user said no', state: 'st4te' }), { ok: true, value: { kind: 'denied', handle: 'st4te' } });
  t.same(callback({ error: 'invalid_scope', state: 'st4te' }), { ok: true, value: { kind: 'upstream-error', handle: 'st4te', error: 'invalid_scope' } });
  t.match(callback({ code: 'c0de' }), { ok: false, reason: /state is required/ });
  t.match(callback({ error: 'access_denied' }), { ok: false, reason: /state is required/ });
  t.match(callback({ state: 'st4te' }), { ok: false, reason: /code or error is required/ });
  t.match(callback({ code: 'c0de', error: 'access_denied', state: 'st4te' }), { ok: false, reason: /error cannot be combined with code/ });
});

t.test('OAuth 1.0a and 2.0 parameters are never mixed', async (t) => {
  t.match(callback({ oauth_token: 'tok', oauth_verifier: 'ver', state: 's' }), { ok: false, reason: /cannot be combined with OAuth 2.0/ });
  t.match(callback({ denied: 'tok', code: 'c', state: 's' }), { ok: false, reason: /cannot be combined with OAuth 2.0/ });
  t.match(callback({ oauth_token: 'tok', code: 'c' }), { ok: false, reason: /cannot be combined with OAuth 2.0/ });
});

t.test('OAuth 2.0 parameters are checked like the others: once, in their characters and lengths', async (t) => {
  t.match(callback({ code: ['a', 'b'], state: 's' }), { ok: false, reason: /^code must be given once/ });
  t.match(callback({ code: 'a', state: ['s', 't'] }), { ok: false, reason: /^state must be given once/ });
  t.match(callback({ error: ['access_denied', 'x'], state: 's' }), { ok: false, reason: /^error must be given once/ });
  for (const bad of ['', 'has space', 'a<b', 'x'.repeat(513), 'ü']) {
    t.match(callback({ code: bad, state: 's' }), { ok: false, reason: /^code / }, `code: ${JSON.stringify(bad.slice(0, 20))}`);
    t.match(callback({ code: 'c', state: bad }), { ok: false, reason: /^state / }, `state: ${JSON.stringify(bad.slice(0, 20))}`);
  }
  for (const bad of ['', 'quote"', 'back\\slash', 'x'.repeat(65), 'new\nline']) {
    t.match(callback({ error: bad, state: 's' }), { ok: false, reason: /^error / }, `error: ${JSON.stringify(bad.slice(0, 20))}`);
  }
  t.match(callback({ error: 'access_denied', error_description: 'x'.repeat(1025), state: 's' }), { ok: false, reason: /^error_description / });
});

