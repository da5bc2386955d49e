// Secrets in Postgres: the raw rows hold no plaintext, and ENCRYPTION_KEY
// can be rotated: earlier keys listed in ENCRYPTION_KEYS_PREVIOUS still
// open what they sealed, signing keys are re-sealed at start, Twitter
// credentials at the user's next sign-in.
import { randomBytes } from 'node:crypto';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import pg from 'pg';
import t from 'tap';
import { decryptSecret, keyId } from '../../src/keys/crypto-box.js';
import { Browser, fragmentOf } from '../helpers/browser.js';
import { answer, startFakeTwitter } from '../helpers/fake-twitter.js';
import { APP_ORIGIN, createTestSchema, startRoost, type Roost } from '../helpers/roost.js';

const ACCESS_TOKEN = 'plain-access-token-7b1f0c';
const ACCESS_SECRET = 'plain-access-secret-93e4aa';
const twitter = await startFakeTwitter();
t.teardown(() => twitter.close());
twitter.behaviours.access_token = answer(200, `oauth_token=${ACCESS_TOKEN}&oauth_token_secret=${ACCESS_SECRET}&user_id=42&screen_name=fake`);

const databaseUrl = await createTestSchema(t);
const raw = new pg.Client({ connectionString: databaseUrl });
await raw.connect();
t.teardown(() => raw.end());

const hex = () => randomBytes(32).toString('hex');
const keyA = hex();
const keyB = hex();

/** A roost on the shared schema with the given keys, stopped at the end of the test `t`. */
function roostWith(t: Parameters<typeof startRoost>[0], encryptionKey: string, previous?: string): Promise<Roost> {
  return startRoost(t, { providerUrl: twitter.url, env: { DATABASE_URL: databaseUrl, ENCRYPTION_KEY: encryptionKey, ENCRYPTION_KEYS_PREVIOUS: previous } });
}

async function signInAt(roost: Roost): Promise<string> {
  const browser = new Browser();
  const login = await browser.get(`${roost.url}/login?return_to=${encodeURIComponent(`${APP_ORIGIN}/`)}`);
  if (login.status !== 302) throw new Error(login.body);
  const callback = await browser.get(`${roost.url}/login/callback?oauth_token=req-token&oauth_verifier=v`);
  if (callback.status !== 302) throw new Error(callback.body);
  return fragmentOf(callback.location).get('access_token') as string;
}

const rows = async (table: 'users' | 'signing_keys') => (await raw.query(`select * from ${table}`)).rows as Record<string, unknown>[];
/** Each roost here has its own port and so its own issuer: check the signature against its JWKS. */
const verifies = async (roost: Roost, token: string) => {
  const jwks = (await (await fetch(`${roost.url}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
  await jwtVerify(token, createLocalJWKSet(jwks), { algorithms: ['ES256'] });
  return true;
};
const id = (key: string) => keyId(Buffer.from(key, 'hex'));

let token = '';

t.test('the raw rows hold no plaintext secret', async (t) => {
  const roost = await roostWith(t, keyA);
  token = await signInAt(roost);
  const [user] = await rows('users');
  const dump = JSON.stringify([user, ...(await rows('signing_keys'))]);
  for (const secret of [ACCESS_TOKEN, ACCESS_SECRET, Buffer.from(ACCESS_TOKEN).toString('base64'), Buffer.from(ACCESS_SECRET).toString('hex')]) {
    t.notOk(dump.includes(secret), `no ${secret.slice(0, 16)}…`);
  }
  t.notMatch(dump, /"d":/, 'no private JWK member in the clear');
  t.match(user?.twitter_token_sealed, `v2.${id(keyA)}.`);
  t.match(user?.twitter_token_secret_sealed, `v2.${id(keyA)}.`);
  const [key] = await rows('signing_keys');
  t.match(key?.private_jwk_sealed, `v2.${id(keyA)}.`);
  const keys = { current: Buffer.from(keyA, 'hex'), previous: [] };
  t.equal(decryptSecret(keys, user?.twitter_token_sealed as string, 'twitter_token:42'), ACCESS_TOKEN, 'the right key opens it');
  t.throws(() => decryptSecret(keys, user?.twitter_token_sealed as string, 'twitter_token_secret:42'), 'bound to its column');
});

t.test('a new ENCRYPTION_KEY with the old one in ENCRYPTION_KEYS_PREVIOUS', async (t) => {
  const roost = await roostWith(t, keyB, keyA);
  const [key] = await rows('signing_keys');
  t.match(key?.private_jwk_sealed, `v2.${id(keyB)}.`, 'the signing key was re-sealed at start');
  t.ok(roost.logs.some((line) => line.msg === 'signing keys re-sealed with the current ENCRYPTION_KEY'));
  t.ok(await verifies(roost, token), 'tokens from before the rotation still verify: same signing key');

  const before = await rows('users');
  t.match(before[0]?.twitter_token_sealed, `v2.${id(keyA)}.`, 'credentials wait for the next sign-in');
  const keys = { current: Buffer.from(keyB, 'hex'), previous: [Buffer.from(keyA, 'hex')] };
  t.equal(decryptSecret(keys, before[0]?.twitter_token_secret_sealed as string, 'twitter_token_secret:42'), ACCESS_SECRET, 'and still open');
  await signInAt(roost);
  const after = await rows('users');
  t.match(after[0]?.twitter_token_sealed, `v2.${id(keyB)}.`, 're-sealed at the next sign-in');
  t.match(after[0]?.twitter_token_secret_sealed, `v2.${id(keyB)}.`);
});

t.test('once everything is re-sealed, the old key can go', async (t) => {
  const roost = await roostWith(t, keyB);
  t.ok(await verifies(roost, token));
  t.ok(await verifies(roost, await signInAt(roost)));
});

t.test('without the key that sealed the signing key, roost refuses to start and says why', async (t) => {
  // The first secret read at start that does not open stops it: the signing key, or another secret sealed with the same key.
  await t.rejects(
    roostWith(t, hex(), hex()),
    /signing key .* cannot be decrypted: is ENCRYPTION_KEY \(or one of ENCRYPTION_KEYS_PREVIOUS\)|cannot be opened with ENCRYPTION_KEY or ENCRYPTION_KEYS_PREVIOUS/,
  );
});
