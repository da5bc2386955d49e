import t from 'tap';
import { parseOidcClients, staticClientStore } from '../../../src/oidc/clients.js';
import { checkLogoutRequest, readLogoutParams, type IdTokenHintClaims, type LogoutCheck, type LogoutParams } from '../../../src/oidc/logout-request.js';
import { hostileReturnTos, printable } from '../../helpers/hostile-return-to.js';

const parsed = parseOidcClients(
  JSON.stringify([
    { client_id: 'web', client_secret: 'w'.repeat(40), redirect_uris: ['https://app.example.com/cb'], post_logout_redirect_uris: ['https://app.example.com/bye', 'https://app.example.com/out?lang=fr'] },
    { client_id: 'spa', redirect_uris: ['http://localhost/cb'], post_logout_redirect_uris: ['http://localhost/bye'] },
    { client_id: 'bare', redirect_uris: ['https://bare.example.com/cb'] },
  ]),
  'OIDC_CLIENTS',
  'json',
);
if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
const clients = staticClientStore(parsed.clients);
const web = clients.find('web')!;
const spa = clients.find('spa')!;
const HINT: IdTokenHintClaims = { aud: 'web', sub: 'u-1', sid: 'sess-1' };

function check(request: LogoutParams, hint?: IdTokenHintClaims): LogoutCheck {
  return checkLogoutRequest(request, hint, clients);
}

t.test('reading the parameters: each once, empty as absent, state checked', async (t) => {
  t.same(readLogoutParams({ id_token_hint: 'h', client_id: ['web'], post_logout_redirect_uri: 'https://app.example.com/bye', state: 's', logout_hint: 'x', ui_locales: 'fr' }), {
    ok: true,
    value: { idTokenHint: 'h', clientId: 'web', postLogoutRedirectUri: 'https://app.example.com/bye', state: 's' },
  });
  t.same(readLogoutParams({ client_id: '', state: '' }), { ok: true, value: {} });
  for (const name of ['id_token_hint', 'client_id', 'post_logout_redirect_uri', 'state']) {
    t.same(readLogoutParams({ [name]: ['a', 'b'] }), { ok: false, reason: `${name} is given more than once` }, name);
  }
  for (const state of ['s'.repeat(513), 'a\nb', 'é']) t.same(readLogoutParams({ state }), { ok: false, reason: 'state must be 1 to 512 printable ASCII characters' }, JSON.stringify(state));
});

t.test('no parameters: sign out, show the page', async (t) => {
  t.same(check({}), { kind: 'accepted' });
  t.same(check({ state: 'ignored without a URI' }), { kind: 'accepted' });
});

t.test('client_id and a registered post_logout_redirect_uri: sent back with the state', async (t) => {
  t.same(check({ clientId: 'web', postLogoutRedirectUri: 'https://app.example.com/bye', state: 's 1' }), { kind: 'accepted', client: web, redirectTo: 'https://app.example.com/bye?state=s+1' });
  t.same(check({ clientId: 'web', postLogoutRedirectUri: 'https://app.example.com/out?lang=fr' }), { kind: 'accepted', client: web, redirectTo: 'https://app.example.com/out?lang=fr' }, 'no state, nothing added');
  t.same(check({ clientId: 'web', postLogoutRedirectUri: 'https://app.example.com/out?lang=fr', state: 's' }), { kind: 'accepted', client: web, redirectTo: 'https://app.example.com/out?lang=fr&state=s' }, 'the query kept');
  t.same(check({ clientId: 'spa', postLogoutRedirectUri: 'http://localhost:5173/bye' }), { kind: 'accepted', client: spa, redirectTo: 'http://localhost:5173/bye' }, 'any loopback port');
  t.same(check({ clientId: 'web' }), { kind: 'accepted', client: web }, 'a client without a URI');
});

t.test('id_token_hint names the client and the session to end', async (t) => {
  t.same(check({ idTokenHint: 'h', postLogoutRedirectUri: 'https://app.example.com/bye', state: 's' }, HINT), {
    kind: 'accepted',
    client: web,
    redirectTo: 'https://app.example.com/bye?state=s',
    endSession: { sub: 'u-1', sid: 'sess-1' },
  });
  t.same(check({ idTokenHint: 'h', clientId: 'web' }, HINT), { kind: 'accepted', client: web, endSession: { sub: 'u-1', sid: 'sess-1' } }, 'client_id the same as aud');
  t.same(check({ idTokenHint: 'h' }, { aud: ['web'], sub: 'u-1' }), { kind: 'accepted', client: web, endSession: { sub: 'u-1' } }, 'aud as a list of one; no sid');
  t.same(check({ idTokenHint: 'h', postLogoutRedirectUri: 'http://localhost/bye' }, { aud: ['web', 'spa'], azp: 'spa', sub: 'u-1' }), { kind: 'accepted', client: spa, redirectTo: 'http://localhost/bye', endSession: { sub: 'u-1' } }, 'azp names the client');
  t.same(check({ idTokenHint: 'h', clientId: 'spa', postLogoutRedirectUri: 'http://localhost/bye' }, { aud: ['web', 'spa'], sub: 'u-1' }), { kind: 'accepted', client: spa, redirectTo: 'http://localhost/bye', endSession: { sub: 'u-1' } }, 'client_id among several audiences');
  t.same(check({}, HINT), { kind: 'accepted' }, 'claims without a hint in the request are not used');
});

t.test('refusals: a page, no redirect', async (t) => {
  const cases: Array<[string, LogoutParams, IdTokenHintClaims | undefined, string]> = [
    ['a hint that did not verify', { idTokenHint: 'forged', postLogoutRedirectUri: 'https://app.example.com/bye' }, undefined, 'id_token_hint is not an ID token roost issued'],
    ['client_id another than the hint’s', { idTokenHint: 'h', clientId: 'spa', postLogoutRedirectUri: 'http://localhost/bye' }, HINT, 'client_id is not the audience of id_token_hint'],
    ['an unknown client_id', { clientId: 'nobody' }, undefined, 'the client is not registered'],
    ['a hint for a client no longer registered', { idTokenHint: 'h' }, { aud: 'gone', sub: 'u-1' }, 'the client is not registered'],
    ['a URI without a client', { postLogoutRedirectUri: 'https://app.example.com/bye' }, undefined, 'post_logout_redirect_uri needs client_id or id_token_hint to name the client'],
    ['a URI and a hint of several audiences without azp', { idTokenHint: 'h', postLogoutRedirectUri: 'https://app.example.com/bye' }, { aud: ['web', 'spa'], sub: 'u-1' }, 'post_logout_redirect_uri needs client_id or id_token_hint to name the client'],
    ['another client’s URI', { clientId: 'web', postLogoutRedirectUri: 'http://localhost/bye' }, undefined, 'post_logout_redirect_uri is not registered for this client; it must match one exactly'],
    ['a redirect_uri, not a post-logout one', { clientId: 'web', postLogoutRedirectUri: 'https://app.example.com/cb' }, undefined, 'post_logout_redirect_uri is not registered for this client; it must match one exactly'],
    ['a client with none registered', { clientId: 'bare', postLogoutRedirectUri: 'https://bare.example.com/cb' }, undefined, 'post_logout_redirect_uri is not registered for this client; it must match one exactly'],
    ['a query added', { clientId: 'web', postLogoutRedirectUri: 'https://app.example.com/bye?x=1' }, undefined, 'post_logout_redirect_uri is not registered for this client; it must match one exactly'],
    ['a loopback port out of range', { clientId: 'spa', postLogoutRedirectUri: 'http://localhost:70000/bye' }, undefined, 'post_logout_redirect_uri is not registered for this client; it must match one exactly'],
  ];
  for (const [name, request, hint, reason] of cases) t.same(check(request, hint), { kind: 'page-error', reason }, name);
});

t.test('hostile post_logout_redirect_uri values never produce a redirect', async (t) => {
  for (const [origin, clientId] of [
    ['https://app.example.com', 'web'],
    ['http://localhost:5173', 'spa'],
  ] as const) {
    for (const { category, value } of hostileReturnTos(origin)) {
      t.equal(check({ clientId, postLogoutRedirectUri: value }).kind, 'page-error', `${category}: ${printable(value)}`);
    }
  }
});
