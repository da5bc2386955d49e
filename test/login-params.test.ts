import t from 'tap';
import { parseCallbackParams, parseReturnToParam } from '../src/login-params.js';

t.test('return_to must be there exactly once', async (t) => {
  t.same(parseReturnToParam({ return_to: 'https://a.example/' }), { ok: true, value: 'https://a.example/' });
  t.match(parseReturnToParam({}), { ok: false, reason: /required/ });
  t.match(parseReturnToParam({ return_to: '' }), { ok: false, reason: /required/ });
  t.match(parseReturnToParam({ return_to: ['https://a.example/', 'https://b.example/'] }), { ok: false, reason: /once/ });
});

t.test('an approved callback needs one token and one verifier', async (t) => {
  t.same(parseCallbackParams({ oauth_token: 'tok', oauth_verifier: 'ver' }), { ok: true, value: { kind: 'approved', token: 'tok', verifier: 'ver' } });
  t.same(parseCallbackParams({ oauth_token: 'tok', oauth_verifier: 'ver', extra: 'ignored' }), { ok: true, value: { kind: 'approved', token: 'tok', verifier: 'ver' } });
  t.match(parseCallbackParams({ oauth_token: 'tok' }), { ok: false, reason: /required/ });
  t.match(parseCallbackParams({ oauth_verifier: 'ver' }), { ok: false, reason: /required/ });
  t.match(parseCallbackParams({}), { ok: false, reason: /required/ });
});

t.test('a denial names the token and nothing else', async (t) => {
  t.same(parseCallbackParams({ denied: 'tok' }), { ok: true, value: { kind: 'denied', token: 'tok' } });
  t.match(parseCallbackParams({ denied: 'tok', oauth_token: 'tok' }), { ok: false, reason: /combined/ });
  t.match(parseCallbackParams({ denied: 'tok', oauth_verifier: 'v' }), { ok: false, reason: /combined/ });
});

t.test('repeated or malformed parameters are refused, never first- or last-wins', async (t) => {
  t.match(parseCallbackParams({ oauth_token: ['a', 'b'], oauth_verifier: 'v' }), { ok: false, reason: /oauth_token must be given once/ });
  t.match(parseCallbackParams({ oauth_token: 'a', oauth_verifier: ['v', 'w'] }), { ok: false, reason: /oauth_verifier must be given once/ });
  t.match(parseCallbackParams({ denied: ['a', 'a'] }), { ok: false, reason: /denied must be given once/ });
  for (const bad of ['', 'has space', 'quote"', 'a<b', 'x'.repeat(513), 'ü', 'a\nb']) {
    t.match(parseCallbackParams({ oauth_token: bad, oauth_verifier: 'v' }), { ok: false }, JSON.stringify(bad));
  }
});
