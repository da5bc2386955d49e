import t from 'tap';
import { checkAuthorizationRequest, type AuthorizationCheck } from '../../../src/oidc/authorize-request.js';
import { parseOidcClients, staticClientStore } from '../../../src/oidc/clients.js';
import type { RawParams } from '../../../src/oidc/request-params.js';
import { hostileReturnTos, printable } from '../../helpers/hostile-return-to.js';

const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'; // RFC 7636 Appendix B
const parsed = parseOidcClients(
  JSON.stringify([
    { client_id: 'web', client_secret: 'w'.repeat(40), redirect_uris: ['https://app.example.com/cb', 'https://app.example.com/other?tenant=7'] },
    { client_id: 'spa', redirect_uris: ['http://localhost/cb', 'https://spa.example.com/cb'] },
  ]),
  'OIDC_CLIENTS',
  'json',
);
if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
const clients = staticClientStore(parsed.clients);
const web = clients.find('web')!;
const spa = clients.find('spa')!;

const WEB_REQUEST = { response_type: 'code', client_id: 'web', redirect_uri: 'https://app.example.com/cb', scope: 'openid', state: 'st-1' };
const SPA_REQUEST = { ...WEB_REQUEST, client_id: 'spa', redirect_uri: 'https://spa.example.com/cb', code_challenge: CHALLENGE, code_challenge_method: 'S256' };

function check(params: RawParams): AuthorizationCheck {
  return checkAuthorizationRequest(params, clients);
}

/** RFC 6749 §4.1.2.1: error_description is %x20-21 / %x23-5B / %x5D-7E. */
const DESCRIPTION = /^[\x20\x21\x23-\x5b\x5d-\x7e]+$/;

t.test('a minimal request of a confidential client', async (t) => {
  t.same(check({ response_type: 'code', client_id: 'web', redirect_uri: 'https://app.example.com/cb', scope: 'openid' }), {
    kind: 'accepted',
    request: { client: web, redirectUri: 'https://app.example.com/cb', scopes: ['openid'] },
  });
});

t.test('a full request of a public client', async (t) => {
  const result = check({
    ...SPA_REQUEST,
    scope: 'email  openid offline_access profile urn:other:scope profile',
    nonce: 'n-0S6_WzA2Mj',
    prompt: 'login consent',
    max_age: '3600',
    // Ignored, never echoed or passed on.
    login_hint: '@someone',
    id_token_hint: 'eyJ.x.y',
    display: 'popup',
    ui_locales: 'fr',
    acr_values: 'urn:x',
    claims: '{"userinfo":{}}',
    unknown: ['a', 'b'],
  });
  t.same(result, {
    kind: 'accepted',
    request: {
      client: spa,
      redirectUri: 'https://spa.example.com/cb',
      scopes: ['openid', 'profile', 'email', 'offline_access'],
      state: 'st-1',
      nonce: 'n-0S6_WzA2Mj',
      codeChallenge: CHALLENGE,
      prompt: 'login',
      maxAge: 3600,
    },
  });
});

t.test('a confidential client may use PKCE too', async (t) => {
  const result = check({ ...WEB_REQUEST, code_challenge: CHALLENGE, code_challenge_method: 'S256' });
  t.equal(result.kind === 'accepted' && result.request.codeChallenge, CHALLENGE);
});

t.test('a loopback redirect_uri matches on any port and is kept as sent (RFC 8252 §7.3)', async (t) => {
  for (const uri of ['http://localhost/cb', 'http://localhost:5173/cb', 'http://localhost:1/cb', 'http://localhost:65535/cb']) {
    const result = check({ ...SPA_REQUEST, redirect_uri: uri });
    t.equal(result.kind === 'accepted' && result.request.redirectUri, uri, uri);
  }
  for (const uri of ['http://localhost:65536/cb', 'http://localhost:99999/cb', 'http://localhost:5173/cb/', 'https://localhost:5173/cb', 'http://127.0.0.1:5173/cb']) {
    t.same(check({ ...SPA_REQUEST, redirect_uri: uri }).kind, 'page-error', uri);
  }
});

t.test('a single-element list, as a query parser gives it, counts as one value', async (t) => {
  const result = check({ ...WEB_REQUEST, client_id: ['web'], scope: ['openid'] });
  t.equal(result.kind, 'accepted');
});

t.test('the client or its redirect_uri not known good: a page, never a redirect', async (t) => {
  const cases: Array<[string, RawParams, string]> = [
    ['client_id missing', { ...WEB_REQUEST, client_id: undefined }, 'client_id is missing'],
    ['client_id empty (RFC 6749 §3.1)', { ...WEB_REQUEST, client_id: '' }, 'client_id is missing'],
    ['client_id twice', { ...WEB_REQUEST, client_id: ['web', 'web'] }, 'client_id is given more than once'],
    ['client_id twice, one empty', { ...WEB_REQUEST, client_id: ['web', ''] }, 'client_id is given more than once'],
    ['client_id unknown', { ...WEB_REQUEST, client_id: 'nobody' }, 'client_id is not a registered client'],
    ['client_id in another case', { ...WEB_REQUEST, client_id: 'WEB' }, 'client_id is not a registered client'],
    ['client_id __proto__', { ...WEB_REQUEST, client_id: '__proto__' }, 'client_id is not a registered client'],
    ['redirect_uri missing', { ...WEB_REQUEST, redirect_uri: undefined }, 'redirect_uri is missing'],
    ['redirect_uri empty', { ...WEB_REQUEST, redirect_uri: '' }, 'redirect_uri is missing'],
    ['redirect_uri twice', { ...WEB_REQUEST, redirect_uri: ['https://app.example.com/cb', 'https://app.example.com/cb'] }, 'redirect_uri is given more than once'],
    ['another client’s redirect_uri', { ...WEB_REQUEST, redirect_uri: 'https://spa.example.com/cb' }, 'redirect_uri is not one of the redirect URIs registered for this client; it must match one exactly'],
    ['a query added', { ...WEB_REQUEST, redirect_uri: 'https://app.example.com/cb?x=1' }, 'redirect_uri is not one of the redirect URIs registered for this client; it must match one exactly'],
    ['the query left out', { ...WEB_REQUEST, redirect_uri: 'https://app.example.com/other' }, 'redirect_uri is not one of the redirect URIs registered for this client; it must match one exactly'],
    ['a path prefix', { ...WEB_REQUEST, redirect_uri: 'https://app.example.com/cb/more' }, 'redirect_uri is not one of the redirect URIs registered for this client; it must match one exactly'],
    // The client is not known good, so the other errors cannot be sent to it.
    ['unknown client and a bad response_type', { ...WEB_REQUEST, client_id: 'nobody', response_type: 'token' }, 'client_id is not a registered client'],
    ['bad redirect_uri and no scope', { ...WEB_REQUEST, redirect_uri: 'https://evil.example/cb', scope: undefined }, 'redirect_uri is not one of the redirect URIs registered for this client; it must match one exactly'],
  ];
  for (const [name, params, reason] of cases) t.same(check(params), { kind: 'page-error', reason }, name);
});

t.test('hostile redirect_uri values never produce a redirect', async (t) => {
  for (const [origin, base] of [
    ['https://app.example.com', WEB_REQUEST],
    ['http://localhost:5173', SPA_REQUEST],
  ] as const) {
    for (const { category, value } of hostileReturnTos(origin)) {
      t.equal(check({ ...base, redirect_uri: value }).kind, 'page-error', `${category}: ${printable(value)}`);
    }
  }
});

t.test('every other error goes back to the client, with its state', async (t) => {
  const cases: Array<[string, RawParams, string, string]> = [
    ['response_type missing', { ...WEB_REQUEST, response_type: undefined }, 'invalid_request', 'response_type is missing: it must be code'],
    ['response_type token', { ...WEB_REQUEST, response_type: 'token' }, 'unsupported_response_type', 'response_type must be code: the authorization code flow is the only one'],
    ['response_type id_token', { ...WEB_REQUEST, response_type: 'id_token' }, 'unsupported_response_type', 'response_type must be code: the authorization code flow is the only one'],
    ['response_type hybrid', { ...WEB_REQUEST, response_type: 'code id_token' }, 'unsupported_response_type', 'response_type must be code: the authorization code flow is the only one'],
    ['response_type in upper case', { ...WEB_REQUEST, response_type: 'CODE' }, 'unsupported_response_type', 'response_type must be code: the authorization code flow is the only one'],
    ['response_mode fragment', { ...WEB_REQUEST, response_mode: 'fragment' }, 'invalid_request', 'response_mode must be query'],
    ['response_mode form_post', { ...WEB_REQUEST, response_mode: 'form_post' }, 'invalid_request', 'response_mode must be query'],
    ['scope missing', { ...WEB_REQUEST, scope: undefined }, 'invalid_request', 'scope is missing: it must contain openid'],
    ['scope without openid', { ...WEB_REQUEST, scope: 'profile email' }, 'invalid_scope', 'scope must contain openid'],
    ['scope with OpenID in another case', { ...WEB_REQUEST, scope: 'OpenID' }, 'invalid_scope', 'scope must contain openid'],
    ['scope of spaces', { ...WEB_REQUEST, scope: '   ' }, 'invalid_scope', 'scope is empty: it must contain openid'],
    ['scope with a quote', { ...WEB_REQUEST, scope: 'openid "x"' }, 'invalid_scope', 'scope must be space-separated printable ASCII words without quotes or backslashes'],
    ['scope with a tab', { ...WEB_REQUEST, scope: 'openid\tprofile' }, 'invalid_scope', 'scope must be space-separated printable ASCII words without quotes or backslashes'],
    ['scope with non-ASCII', { ...WEB_REQUEST, scope: 'openid prófile' }, 'invalid_scope', 'scope must be space-separated printable ASCII words without quotes or backslashes'],
    ['a public client without PKCE', { ...SPA_REQUEST, code_challenge: undefined, code_challenge_method: undefined }, 'invalid_request', 'code_challenge is required: this public client must use PKCE with S256'],
    ['plain PKCE', { ...SPA_REQUEST, code_challenge_method: 'plain' }, 'invalid_request', 'code_challenge_method must be S256 (plain is not accepted)'],
    ['a challenge without a method (plain by default)', { ...SPA_REQUEST, code_challenge_method: undefined }, 'invalid_request', 'code_challenge_method must be S256 (plain is not accepted)'],
    ['s256 in lower case', { ...SPA_REQUEST, code_challenge_method: 's256' }, 'invalid_request', 'code_challenge_method must be S256 (plain is not accepted)'],
    ['a method without a challenge', { ...WEB_REQUEST, code_challenge_method: 'S256' }, 'invalid_request', 'code_challenge_method is used only with code_challenge'],
    ['a short challenge', { ...SPA_REQUEST, code_challenge: CHALLENGE.slice(1) }, 'invalid_request', 'code_challenge must be 43 base64url characters, the S256 hash of the verifier'],
    ['a long challenge', { ...SPA_REQUEST, code_challenge: `${CHALLENGE}A` }, 'invalid_request', 'code_challenge must be 43 base64url characters, the S256 hash of the verifier'],
    ['a base64 challenge', { ...SPA_REQUEST, code_challenge: `${CHALLENGE.slice(0, 42)}+` }, 'invalid_request', 'code_challenge must be 43 base64url characters, the S256 hash of the verifier'],
    ['a padded challenge', { ...SPA_REQUEST, code_challenge: `${CHALLENGE.slice(0, 42)}=` }, 'invalid_request', 'code_challenge must be 43 base64url characters, the S256 hash of the verifier'],
    ['nonce too long', { ...WEB_REQUEST, nonce: 'n'.repeat(513) }, 'invalid_request', 'nonce must be 1 to 512 printable ASCII characters'],
    ['nonce with a newline', { ...WEB_REQUEST, nonce: 'a\nb' }, 'invalid_request', 'nonce must be 1 to 512 printable ASCII characters'],
    ['nonce non-ASCII', { ...WEB_REQUEST, nonce: 'nönce' }, 'invalid_request', 'nonce must be 1 to 512 printable ASCII characters'],
    ['prompt unknown', { ...WEB_REQUEST, prompt: 'create' }, 'invalid_request', 'prompt must be none, or any of login, consent, select_account'],
    ['prompt in upper case', { ...WEB_REQUEST, prompt: 'LOGIN' }, 'invalid_request', 'prompt must be none, or any of login, consent, select_account'],
    ['prompt none with login', { ...WEB_REQUEST, prompt: 'none login' }, 'invalid_request', 'prompt=none cannot be combined with another value'],
    ['prompt none with consent', { ...WEB_REQUEST, prompt: 'consent none' }, 'invalid_request', 'prompt=none cannot be combined with another value'],
    ['max_age negative', { ...WEB_REQUEST, max_age: '-1' }, 'invalid_request', 'max_age must be a whole number of seconds'],
    ['max_age a fraction', { ...WEB_REQUEST, max_age: '1.5' }, 'invalid_request', 'max_age must be a whole number of seconds'],
    ['max_age in exponent form', { ...WEB_REQUEST, max_age: '1e3' }, 'invalid_request', 'max_age must be a whole number of seconds'],
    ['max_age in hex', { ...WEB_REQUEST, max_age: '0x10' }, 'invalid_request', 'max_age must be a whole number of seconds'],
    ['max_age with a space', { ...WEB_REQUEST, max_age: ' 60' }, 'invalid_request', 'max_age must be a whole number of seconds'],
    ['max_age a word', { ...WEB_REQUEST, max_age: 'Infinity' }, 'invalid_request', 'max_age must be a whole number of seconds'],
    ['max_age past 2^31-1', { ...WEB_REQUEST, max_age: '2147483648' }, 'invalid_request', 'max_age must be a whole number of seconds'],
    ['max_age of 11 digits', { ...WEB_REQUEST, max_age: '00000000001' }, 'invalid_request', 'max_age must be a whole number of seconds'],
    ['a request object (OIDC Core §6)', { ...WEB_REQUEST, request: 'eyJ.x.y' }, 'request_not_supported', 'the request parameter is not supported'],
    ['a request_uri', { ...WEB_REQUEST, request_uri: 'https://app.example.com/r' }, 'request_uri_not_supported', 'the request_uri parameter is not supported'],
    ['registration', { ...WEB_REQUEST, registration: '{}' }, 'registration_not_supported', 'the registration parameter is not supported'],
  ];
  for (const name of ['response_type', 'scope', 'nonce', 'prompt', 'max_age', 'code_challenge', 'code_challenge_method', 'response_mode', 'request', 'request_uri', 'registration']) {
    cases.push([`${name} twice`, { ...SPA_REQUEST, [name]: ['x', 'y'] }, 'invalid_request', `${name} is given more than once`]);
  }
  for (const [name, params, error, description] of cases) {
    const redirectUri = typeof params.redirect_uri === 'string' ? params.redirect_uri : '';
    t.same(check(params), { kind: 'redirect-error', redirectUri, state: 'st-1', error, description }, name);
    t.match(description, DESCRIPTION, `${name}: a valid error_description`);
  }
});

t.test('a state that cannot be sent back is not', async (t) => {
  const cases: Array<[string, RawParams, string]> = [
    ['state twice', { ...WEB_REQUEST, state: ['a', 'b'] }, 'state is given more than once'],
    ['state too long', { ...WEB_REQUEST, state: 's'.repeat(513) }, 'state must be 1 to 512 printable ASCII characters'],
    ['state with a newline', { ...WEB_REQUEST, state: 'a\r\nb' }, 'state must be 1 to 512 printable ASCII characters'],
    ['state non-ASCII', { ...WEB_REQUEST, state: 'é' }, 'state must be 1 to 512 printable ASCII characters'],
  ];
  for (const [name, params, description] of cases) {
    t.same(check(params), { kind: 'redirect-error', redirectUri: 'https://app.example.com/cb', error: 'invalid_request', description }, name);
  }
  // A bad state is found before any other error, which then has no state to carry either.
  t.same(check({ ...WEB_REQUEST, state: ['a', 'b'], response_type: 'token' }), {
    kind: 'redirect-error',
    redirectUri: 'https://app.example.com/cb',
    error: 'invalid_request',
    description: 'state is given more than once',
  });
  const longest = 's'.repeat(512);
  const ok = check({ ...WEB_REQUEST, state: longest });
  t.equal(ok.kind === 'accepted' && ok.request.state, longest, '512 characters pass');
  const spaces = check({ ...WEB_REQUEST, state: ' "<a>&\\ ' });
  t.equal(spaces.kind === 'accepted' && spaces.request.state, ' "<a>&\\ ', 'any printable ASCII, space included');
  const errorWithoutState = check({ ...WEB_REQUEST, state: undefined, response_type: 'token' });
  t.notOk('state' in errorWithoutState, 'no state, no state in the error');
});

t.test('prompt: none alone, and login, consent and select_account as a fresh sign-in', async (t) => {
  const cases: Array<[string | undefined, string | undefined]> = [
    [undefined, undefined],
    ['', undefined],
    ['none', 'none'],
    ['login', 'login'],
    ['consent', 'login'],
    ['select_account', 'login'],
    ['login consent select_account', 'login'],
    [' login  ', 'login'],
    ['   ', undefined],
  ];
  for (const [prompt, expected] of cases) {
    const result = check({ ...WEB_REQUEST, prompt });
    t.equal(result.kind === 'accepted' ? result.request.prompt : 'refused', expected, JSON.stringify(prompt));
  }
});

t.test('max_age: whole seconds from 0', async (t) => {
  for (const [raw, expected] of [
    ['0', 0],
    ['1', 1],
    ['007', 7],
    ['2147483647', 2147483647],
  ] as const) {
    const result = check({ ...WEB_REQUEST, max_age: raw });
    t.equal(result.kind === 'accepted' && result.request.maxAge, expected, raw);
  }
});
