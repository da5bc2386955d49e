import t from 'tap';
import { checkAuthorizationRequest, STATE_MAX_LENGTH, X_SCOPES, type RegisteredClient } from '../../../src/sandbox/oauth2-authorize.js';

const CLIENT: RegisteredClient = { clientId: 'client', redirectUris: ['http://127.0.0.1:5173/login/callback', 'https://app.example/cb?x=1'] };
const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';
const VALID = {
  response_type: 'code',
  client_id: 'client',
  redirect_uri: 'http://127.0.0.1:5173/login/callback',
  scope: 'tweet.read users.read',
  state: 's',
  code_challenge: CHALLENGE,
  code_challenge_method: 'S256',
};

function query(overrides: Record<string, string | undefined> = {}): string {
  const params = Object.entries({ ...VALID, ...overrides }).filter((entry): entry is [string, string] => entry[1] !== undefined);
  return new URLSearchParams(params).toString();
}

t.test('a valid request', async (t) => {
  t.same(checkAuthorizationRequest(query(), CLIENT), {
    kind: 'valid',
    request: { clientId: 'client', redirectUri: VALID.redirect_uri, scopes: ['tweet.read', 'users.read'], state: 's', codeChallenge: CHALLENGE },
  });
  const other = checkAuthorizationRequest(query({ redirect_uri: 'https://app.example/cb?x=1', scope: 'users.read offline.access users.read users.email' }), CLIENT);
  t.match(other, { kind: 'valid', request: { redirectUri: 'https://app.example/cb?x=1', scopes: ['users.read', 'offline.access', 'users.email'] } }, 'repeats dropped, order kept');
  t.match(checkAuthorizationRequest(query({ state: 'z'.repeat(STATE_MAX_LENGTH) }), CLIENT), { kind: 'valid' });
  t.match(checkAuthorizationRequest(`${query()}&unknown=1`, CLIENT), { kind: 'valid' }, 'unknown parameters are ignored (RFC 6749 §3.1)');
  t.match(checkAuthorizationRequest(`${query()}&client_id=`, CLIENT), { kind: 'valid' }, 'an empty value counts as absent');
  t.ok(X_SCOPES.has('users.email') && X_SCOPES.has('offline.access') && !X_SCOPES.has('openid'));
});

t.test('the client and redirect URI: a page, never a redirect', async (t) => {
  const cases: [string, string, RegisteredClient | undefined][] = [
    ['no client_id', query({ client_id: undefined }), CLIENT],
    ['an unknown client_id', query({ client_id: 'other' }), CLIENT],
    ['client_id in another case', query({ client_id: 'CLIENT' }), CLIENT],
    ['client_id twice', `${query()}&client_id=client`, CLIENT],
    ['no registered client at all', query(), undefined],
    ['no redirect_uri', query({ redirect_uri: undefined }), CLIENT],
    ['an unregistered redirect_uri', query({ redirect_uri: 'https://evil.example/cb' }), CLIENT],
    ['the registered one without its query', query({ redirect_uri: 'https://app.example/cb' }), CLIENT],
    ['the registered one with an upper-case host', query({ redirect_uri: 'HTTP://127.0.0.1:5173/login/callback' }), CLIENT],
    ['redirect_uri twice', `${query()}&redirect_uri=${encodeURIComponent(VALID.redirect_uri)}`, CLIENT],
    ['nothing registered', query(), { clientId: 'client', redirectUris: [] }],
    // The redirect URI is only trusted once the client is: an unknown client with a registered URI still gets a page.
    ['a registered redirect_uri with an unknown client', query({ client_id: 'other', state: undefined }), CLIENT],
  ];
  for (const [name, raw, client] of cases) t.match(checkAuthorizationRequest(raw, client), { kind: 'page', title: String, message: String }, name);
});

t.test('the rest goes back to the redirect URI, with the state when there is one', async (t) => {
  const cases: [string, string, string, string | undefined][] = [
    ['no response_type', query({ response_type: undefined }), 'invalid_request', 's'],
    ['response_type token', query({ response_type: 'token' }), 'unsupported_response_type', 's'],
    ['response_type code id_token', query({ response_type: 'code id_token' }), 'unsupported_response_type', 's'],
    ['no state', query({ state: undefined }), 'invalid_request', undefined],
    ['state too long', query({ state: 'z'.repeat(STATE_MAX_LENGTH + 1) }), 'invalid_request', 'z'.repeat(STATE_MAX_LENGTH + 1)],
    ['state twice', `${query()}&state=t`, 'invalid_request', undefined],
    ['scope twice', `${query()}&scope=users.read`, 'invalid_request', 's'],
    ['no scope', query({ scope: undefined }), 'invalid_request', 's'],
    ['an unknown scope', query({ scope: 'users.read email' }), 'invalid_scope', 's'],
    ['scope in another case', query({ scope: 'Users.Read' }), 'invalid_scope', 's'],
    ['no users.read', query({ scope: 'tweet.read offline.access' }), 'invalid_scope', 's'],
    ['a leading space', query({ scope: ' users.read' }), 'invalid_scope', 's'],
    ['a trailing space', query({ scope: 'users.read ' }), 'invalid_scope', 's'],
    ['commas', query({ scope: 'tweet.read,users.read' }), 'invalid_scope', 's'],
    ['a tab', query({ scope: 'tweet.read\tusers.read' }), 'invalid_scope', 's'],
    ['no code_challenge_method', query({ code_challenge_method: undefined }), 'invalid_request', 's'],
    ['plain', query({ code_challenge_method: 'plain' }), 'invalid_request', 's'],
    ['s256 in lower case', query({ code_challenge_method: 's256' }), 'invalid_request', 's'],
    ['no code_challenge', query({ code_challenge: undefined }), 'invalid_request', 's'],
    ['a challenge of 44 characters', query({ code_challenge: `${CHALLENGE}A` }), 'invalid_request', 's'],
    ['standard base64 in the challenge', query({ code_challenge: CHALLENGE.replace('-', '+') }), 'invalid_request', 's'],
  ];
  for (const [name, raw, error, state] of cases) {
    const checked = checkAuthorizationRequest(raw, CLIENT);
    if (checked.kind !== 'redirect') {
      t.fail(`${name}: expected a redirect, got ${checked.kind}`);
      continue;
    }
    t.equal(checked.redirectUri, VALID.redirect_uri, `${name}: to the registered URI`);
    t.equal(checked.params.error, error, `${name}: ${error}`);
    t.match(checked.params.error_description, /\S/, `${name}: described`);
    t.equal(checked.params.state, state, `${name}: state`);
  }
});
