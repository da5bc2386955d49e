import t from 'tap';
import { createOAuth2Store } from '../../../src/sandbox/oauth2-store.js';
import { answerRevokeRequest, answerTokenRequest, isS256Match, readBasicCredentials, type TokenContext } from '../../../src/sandbox/oauth2-token.js';

// RFC 7636 Appendix B.
const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';
const CLIENT = { clientId: 'client', clientSecret: 'secret' };
const REDIRECT_URI = 'http://127.0.0.1:5173/login/callback';
const BASIC = `Basic ${Buffer.from('client:secret').toString('base64')}`;

t.test('S256 against RFC 7636 Appendix B', async (t) => {
  t.equal(isS256Match(VERIFIER, CHALLENGE), true);
  t.equal(isS256Match(VERIFIER, CHALLENGE.replace('E9', 'E8')), false);
  t.equal(isS256Match(`${VERIFIER}x`, CHALLENGE), false);
  t.equal(isS256Match(CHALLENGE, CHALLENGE), false, 'the challenge is not its own verifier (plain)');
  t.equal(isS256Match(VERIFIER, `${CHALLENGE}=`), false, 'padding is not base64url');
  t.equal(isS256Match('a'.repeat(42), 'x'), false, 'a verifier under 43 characters');
  t.equal(isS256Match('a'.repeat(129), 'x'), false, 'a verifier over 128 characters');
  t.equal(isS256Match(`${VERIFIER.slice(0, -1)}/`, CHALLENGE), false, 'a character outside the unreserved set');
});

t.test('HTTP Basic with form-encoded halves (RFC 6749 §2.3.1, RFC 7617)', async (t) => {
  const encode = (text: string) => Buffer.from(text).toString('base64');
  t.same(readBasicCredentials(`Basic ${encode('client:secret')}`), CLIENT);
  t.same(readBasicCredentials(`basic ${encode('client:secret')}`), CLIENT, 'the scheme in any case');
  t.same(readBasicCredentials(`Basic ${encode('a%3Ab:c%2Bd+e:f')}`), { clientId: 'a:b', clientSecret: 'c+d e:f' }, 'decoded after the first colon');
  t.same(readBasicCredentials(`Basic ${encode('client:')}`), { clientId: 'client', clientSecret: '' });
  t.equal(readBasicCredentials(`Basic ${encode('client')}`), undefined, 'no colon');
  t.equal(readBasicCredentials(`Basic ${encode(':secret')}`), undefined, 'no client id');
  t.equal(readBasicCredentials(`Basic ${encode('client:%zz')}`), undefined, 'a broken escape');
  t.equal(readBasicCredentials('Basic not base64!'), undefined);
  t.equal(readBasicCredentials(`Bearer ${encode('client:secret')}`), undefined);
  t.equal(readBasicCredentials(''), undefined);
});

function context(): TokenContext & { time: { now: number } } {
  const time = { now: 1_700_000_000_000 };
  return { client: CLIENT, store: createOAuth2Store(() => time.now), userExists: (id) => id === 'user', time };
}

function issue(ctx: TokenContext, scopes: string[] = ['tweet.read', 'users.read']): string {
  return ctx.store.issueCode({ clientId: 'client', redirectUri: REDIRECT_URI, codeChallenge: CHALLENGE, userId: 'user', scopes }).code;
}

function form(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}

t.test('the token endpoint as a function', async (t) => {
  const ctx = context();
  const code = issue(ctx);
  const grant = { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER };

  t.match(answerTokenRequest(ctx, BASIC, undefined), { status: 400, body: { error: 'invalid_request' } }, 'not a form');
  t.match(answerTokenRequest(ctx, undefined, form(grant)), { status: 401, body: { error: 'invalid_client' }, wwwAuthenticate: /^Basic / });
  t.match(answerTokenRequest({ ...ctx, client: undefined }, BASIC, form(grant)), { status: 401, body: { error: 'invalid_client' } }, 'no app registered');
  t.match(answerTokenRequest(ctx, BASIC, form({ ...grant, grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange' })), {
    status: 400,
    body: { error: 'unsupported_grant_type' },
  });

  const answer = answerTokenRequest(ctx, BASIC, form(grant));
  t.match(answer, { status: 200, body: { token_type: 'bearer', expires_in: 7200, access_token: /^[A-Za-z0-9_-]{32}$/, scope: 'tweet.read users.read' } });
  t.equal(answer.wwwAuthenticate, undefined);
  t.notOk('refresh_token' in answer.body);
  t.match(answerTokenRequest(ctx, BASIC, form(grant)), { status: 400, body: { error: 'invalid_grant', error_description: /already used/ } });

  const other = issue(ctx);
  t.match(answerTokenRequest(ctx, BASIC, form({ ...grant, code: other, code_verifier: '' })), { status: 400, body: { error: 'invalid_request' } }, 'an empty verifier is a missing one');
  t.match(answerTokenRequest(ctx, BASIC, form({ ...grant, code: other })), { status: 200 }, 'and did not spend the code');

  const gone = ctx.store.issueCode({ clientId: 'client', redirectUri: REDIRECT_URI, codeChallenge: CHALLENGE, userId: 'removed', scopes: ['users.read'] }).code;
  t.match(answerTokenRequest(ctx, BASIC, form({ ...grant, code: gone })), { status: 400, body: { error: 'invalid_grant' } });
  const foreign = ctx.store.issueCode({ clientId: 'other', redirectUri: REDIRECT_URI, codeChallenge: CHALLENGE, userId: 'user', scopes: ['users.read'] }).code;
  t.match(answerTokenRequest(ctx, BASIC, form({ ...grant, code: foreign })), { status: 400, body: { error: 'invalid_grant' } }, "another client's code");
});

t.test('the revocation endpoint as a function', async (t) => {
  const ctx = context();
  const tokens = answerTokenRequest(ctx, BASIC, form({ grant_type: 'authorization_code', code: issue(ctx), redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }));
  const accessToken = String(tokens.body.access_token);
  t.match(answerRevokeRequest(ctx, undefined, form({ token: accessToken })), { status: 401, body: { error: 'invalid_client' } });
  t.match(answerRevokeRequest(ctx, BASIC, undefined), { status: 400, body: { error: 'invalid_request' } });
  t.match(answerRevokeRequest(ctx, BASIC, form({ token: accessToken })), { status: 200, body: { revoked: true } });
  t.equal(ctx.store.findAccessToken(accessToken), undefined);
  t.match(answerRevokeRequest(ctx, BASIC, `token=a&token=b`), { status: 400, body: { error: 'invalid_request', error_description: /repeats token/ } });
});
