// TWITTER_EMAIL over both protocols, through the sandbox X: `email` and
// `email_verified` exactly when X returned a confirmed address; `required`
// refuses the others at the app; `off` never asks.
import { decodeJwt } from 'jose';
import t from 'tap';
import { Browser, fragmentOf } from '../helpers/browser.js';
import { signIn } from '../helpers/flow.js';
import { PROTOCOLS, startRoost } from '../helpers/roost.js';

const ALICE = 0;
const CAROL_NO_EMAIL = 2;

for (const protocol of PROTOCOLS) {
  t.test(`${protocol}: optional (the default)`, async (t) => {
    const roost = await startRoost(t, { protocol });
    t.equal(roost.config.twitter.email, 'optional');
    const alice = fragmentOf((await signIn(new Browser(), roost, { user: ALICE })).location);
    const claims = decodeJwt(alice.get('access_token') as string);
    t.equal(claims.email, roost.users[ALICE]!.email, 'the confirmed address');
    t.equal(claims.email_verified, true);
    const me = await (await fetch(`${roost.url}/me`, { headers: { authorization: `Bearer ${alice.get('access_token')}` } })).json();
    t.match(me, { email: roost.users[ALICE]!.email, email_verified: true });

    const carol = fragmentOf((await signIn(new Browser(), roost, { user: CAROL_NO_EMAIL })).location);
    const carolClaims = decodeJwt(carol.get('access_token') as string);
    t.notOk('email' in carolClaims, 'no address, no claim');
    t.notOk('email_verified' in carolClaims);
    const carolMe = (await (await fetch(`${roost.url}/me`, { headers: { authorization: `Bearer ${carol.get('access_token')}` } })).json()) as Record<string, unknown>;
    t.equal(carolMe.email, null);
    t.notOk('email_verified' in carolMe);
  });

  t.test(`${protocol}: required refuses a user without a confirmed email, at the app`, async (t) => {
    const roost = await startRoost(t, { protocol, env: { TWITTER_EMAIL: 'required' } });
    const carol = await signIn(new Browser(), roost, { user: CAROL_NO_EMAIL, loginQuery: { state: 'xyz' } });
    t.equal(carol.status, 302);
    const fragment = fragmentOf(carol.location);
    t.equal(fragment.get('error'), 'access_denied');
    t.match(fragment.get('error_description'), /confirmed email address/);
    t.equal(fragment.get('state'), 'xyz');
    t.notOk(fragment.has('access_token'));
    const stored = await roost.deps.db.selectFrom('users').select('id').where('twitter_id', '=', roost.users[CAROL_NO_EMAIL]!.id_str).execute();
    t.equal(stored.length, 0, 'no account is made for a refused sign-in');
    const metrics = await (await fetch(`${roost.url}/metrics`)).text();
    t.match(metrics, /roost_sign_ins_denied_total\{reason="email_required"\} 1/);
    const alice = fragmentOf((await signIn(new Browser(), roost, { user: ALICE })).location);
    t.equal(decodeJwt(alice.get('access_token') as string).email_verified, true, 'a user with one signs in');
  });

  t.test(`${protocol}: off never asks X for the email`, async (t) => {
    const roost = await startRoost(t, { protocol, env: { TWITTER_EMAIL: 'off' } });
    const browser = new Browser();
    const login = await browser.get(`${roost.url}/login?return_to=${encodeURIComponent('http://app.test/signed-in')}`);
    if (protocol === 'oauth2') t.notMatch(new URL(login.location as string).searchParams.get('scope'), /users\.email/, 'no users.email scope');
    const alice = fragmentOf((await signIn(browser, roost, { user: ALICE })).location);
    t.notOk('email' in decodeJwt(alice.get('access_token') as string));
    const row = await roost.deps.db.selectFrom('users').select('email').where('twitter_id', '=', roost.users[ALICE]!.id_str).executeTakeFirstOrThrow();
    t.equal(row.email, null, 'nothing stored');
  });
}
