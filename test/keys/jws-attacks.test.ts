// Tokens made to slip past the access-token verifier, each one set beside
// jose's jwtVerify with the options roost used to verify with (the published
// keys as a local JWKS, their algorithms pinned, issuer, audience, typ
// at+jwt, sub/iat/exp/jti required, no clock tolerance). Every case states
// both verdicts: roost refuses whatever jose refuses, and where roost
// refuses more, the case says so. Cases already in compact-jws.test.ts and
// access-tokens.test.ts are not repeated here.
import { constants, createHmac, createPublicKey, generateKeyPairSync, KeyObject, sign } from 'node:crypto';
import fc from 'fast-check';
import { createLocalJWKSet, errors, jwtVerify, type JWK } from 'jose';
import t, { type Test } from 'tap';
import {
  buildAccessClaims,
  createAccessTokenVerifier,
  issueAccessToken,
  issueClientAccessToken,
  signAccessToken,
  type AccessTokenVerifier,
  type TokenSettings,
} from '../../src/keys/access-tokens.js';
import { MAX_COMPACT_JWS_LENGTH } from '../../src/keys/compact-jws.js';
import { generateSigningKey, openSigningKey, SIGNING_ALGS, toPublicJwk, type PublicJwk, type SigningAlg, type SigningKey } from '../../src/keys/signing-keys.js';
import type { User } from '../../src/users/profiles.js';

const sealing = Buffer.alloc(32, 7);
const settings: TokenSettings = { issuer: 'https://auth.example.com', audience: 'api', ttlSeconds: 900 };
const NOW = Date.UTC(2026, 0, 1);
const IAT = NOW / 1000;

/** Keys made as the key ring makes them: generated, sealed, opened (so the private keys are not extractable). */
async function roostKey(alg: SigningAlg): Promise<SigningKey> {
  const made = await generateSigningKey(alg, sealing);
  return openSigningKey({ kid: made.kid, alg, public_jwk: { ...made.publicJwk }, private_jwk_sealed: made.privateJwkSealed }, sealing);
}

const keys = {} as Record<SigningAlg, SigningKey>;
for (const alg of SIGNING_ALGS) keys[alg] = await roostKey(alg);
const published = SIGNING_ALGS.map((alg) => keys[alg].publicJwk);

// ---------------------------------------------------------------- making tokens by hand

/** How a signature is made: node:crypto's sign with these options. */
interface Signer {
  readonly hash: string | null;
  readonly key: KeyObject;
  readonly dsaEncoding?: 'ieee-p1363';
  readonly padding?: number;
  readonly saltLength?: number;
}

const privateOf = (key: SigningKey) => KeyObject.from(key.privateKey as unknown as Parameters<typeof KeyObject.from>[0]);

/** The signer of a roost key, for the algorithm it is published with. */
function signerOf(key: SigningKey): Signer {
  if (key.alg === 'ES256') return { hash: 'sha256', key: privateOf(key), dsaEncoding: 'ieee-p1363' };
  return { hash: key.alg === 'RS256' ? 'sha256' : null, key: privateOf(key) };
}

function signatureOf(input: string, signer: Signer): Buffer {
  const { hash, key, ...options } = signer;
  return sign(hash, Buffer.from(input), { key, ...options });
}

const b64 = (bytes: string | Buffer) => Buffer.from(bytes).toString('base64url');

/** A JSON object as text, member by member: repeated names and a member named __proto__ are written as given. */
const members = (entries: ReadonlyArray<readonly [string, unknown]>) => `{${entries.map(([name, value]) => `${JSON.stringify(name)}:${JSON.stringify(value)}`).join(',')}}`;

/** A header or claims set: an object, or its JSON text exactly as it is to be encoded. */
type Json = Readonly<Record<string, unknown>> | string;
const segment = (json: Json) => b64(typeof json === 'string' ? json : JSON.stringify(json));

/** Signs the segments as written, whatever they hold. */
const signSegments = (header: string, payload: string, signer: Signer) => `${header}.${payload}.${b64(signatureOf(`${header}.${payload}`, signer))}`;

function forge(header: Json, payload: Json, by: SigningKey | Signer = keys.ES256): string {
  return signSegments(segment(header), segment(payload), 'alg' in by ? signerOf(by) : by);
}

const good = (overrides: Record<string, unknown> = {}) => ({ iss: settings.issuer, sub: 'u-1', aud: 'api', iat: IAT, exp: IAT + 900, jti: 'j-1', sid: 's-1', ...overrides });
const headerOf = (key: SigningKey = keys.ES256, overrides: Record<string, unknown> = {}) => ({ alg: key.alg, kid: key.kid, typ: 'at+jwt', ...overrides });
/** The claims of good() as JSON members, for texts that repeat or add members. */
const goodMembers = (overrides: Record<string, unknown> = {}) => Object.entries(good(overrides)).filter(([, value]) => value !== undefined);

// ---------------------------------------------------------------- the two verifiers

type Verify = (token: string, nowMs: number) => Promise<unknown>;

/** jose's jwtVerify as roost called it before verifying with node:crypto. */
function joseVerifier(jwks: readonly PublicJwk[], tokenSettings: TokenSettings = settings): Verify {
  const keySet = createLocalJWKSet({ keys: jwks.map((key) => ({ ...key }) as JWK) });
  return (token, nowMs) =>
    jwtVerify(token, keySet, {
      algorithms: [...new Set(jwks.map((key) => key.alg))],
      issuer: tokenSettings.issuer,
      ...(tokenSettings.audience !== undefined ? { audience: tokenSettings.audience } : {}),
      typ: 'at+jwt',
      currentDate: new Date(nowMs),
      requiredClaims: ['sub', 'iat', 'exp', 'jti'],
    }).then(({ payload }) => payload);
}

const roost: AccessTokenVerifier = createAccessTokenVerifier({ keys: published }, settings);
const jose = joseVerifier(published);

type Outcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown };
const settle = (promise: Promise<unknown>): Promise<Outcome> =>
  promise.then(
    (value) => ({ ok: true, value }),
    (error: unknown) => ({ ok: false, error }),
  );
const codeOf = (error: unknown) => (error instanceof errors.JOSEError ? error.code : String(error));

/**
 * - both accept: the same claims come back from each;
 * - both refuse;
 * - roost stricter: jose accepts, roost refuses.
 * Whatever roost refuses, it refuses with one of jose's errors.
 */
type Verdict = 'both accept' | 'both refuse' | 'roost stricter';

interface JudgeOptions {
  readonly now?: number;
  readonly ours?: Verify;
  readonly theirs?: Verify;
  /** The code roost refuses with. */
  readonly code?: string;
}

async function judge(t: Test, what: string, token: string, verdict: Verdict, options: JudgeOptions = {}): Promise<void> {
  const now = options.now ?? NOW;
  const [mine, reference] = await Promise.all([settle((options.ours ?? roost)(token, now)), settle((options.theirs ?? jose)(token, now))]);
  t.equal(mine.ok, verdict === 'both accept', `${what}: roost ${verdict === 'both accept' ? 'accepts' : 'refuses'}${mine.ok ? '' : ` (${codeOf(mine.error)})`}`);
  t.equal(reference.ok, verdict !== 'both refuse', `${what}: jose ${verdict === 'both refuse' ? 'refuses' : 'accepts'}${reference.ok ? '' : ` (${codeOf(reference.error)})`}`);
  // As JSON text: the claims may nest deeper than a structural comparison recurses.
  if (mine.ok && reference.ok) t.equal(JSON.stringify(mine.value), JSON.stringify(reference.value), `${what}: the same claims`);
  if (!mine.ok) {
    t.type(mine.error, errors.JOSEError, `${what}: a clean refusal`);
    if (options.code !== undefined) t.equal(codeOf(mine.error), options.code, `${what}: ${options.code}`);
  }
}

// ---------------------------------------------------------------- the baseline

t.test('roost\'s own tokens: both accept them, and the hand-made ones have the same bytes', async (t) => {
  const user: User = { id: 'u-1', twitter_id: '1', screen_name: 'alice', name: 'Alice', picture: null, email: null, created_at: new Date(0), updated_at: new Date(0) };
  const userinfo = 'https://auth.example.com/userinfo';
  const atUserinfo = { ours: createAccessTokenVerifier({ keys: published }, { ...settings, audience: userinfo }), theirs: joseVerifier(published, { ...settings, audience: userinfo }) };
  for (const alg of SIGNING_ALGS) {
    const key = keys[alg];
    await judge(t, `${alg}: an access token`, await issueAccessToken(user, settings, key, NOW, 's-1'), 'both accept');
    const client = await issueClientAccessToken(user.id, { ...settings, audience: userinfo }, key, NOW, { sid: 's-1', clientId: 'web', scope: 'openid' });
    await judge(t, `${alg}: a client's access token at /userinfo`, client, 'both accept', atUserinfo);
    await judge(t, `${alg}: a client's access token elsewhere`, client, 'both refuse', { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED' });
    // The forging below writes what roost writes when given the same header and claims.
    const claims = buildAccessClaims(user, settings, NOW, 'j-1', 's-1');
    const made = await signAccessToken(claims, key);
    const forged = forge(headerOf(key), claims, key);
    t.equal(forged.split('.').slice(0, 2).join('.'), made.split('.').slice(0, 2).join('.'), `${alg}: the same header and claims segments`);
    if (alg !== 'ES256') t.equal(forged, made, `${alg}: the same token (the signature is deterministic)`);
  }
});

// ---------------------------------------------------------------- the algorithm

t.test('alg: every spelling no published key declares is refused before any key is chosen', async (t) => {
  const claims = good();
  for (const alg of ['None', 'nOnE', '', ' ES256', 'ES256 ', 'ES256\u0000', 'Es256', 'ES256K', 'ES512', 'RS512', 'EdDSA\n', 'ＥＳ256']) {
    await judge(t, `alg ${JSON.stringify(alg)}`, forge(headerOf(keys.ES256, { alg }), claims), 'both refuse', { code: alg === '' ? 'ERR_JWS_INVALID' : 'ERR_JOSE_ALG_NOT_ALLOWED' });
  }
  for (const alg of [null, 0, {}, ['ES256'], true]) {
    await judge(t, `alg ${JSON.stringify(alg)}`, forge(headerOf(keys.ES256, { alg }), claims), 'both refuse', { code: 'ERR_JWS_INVALID' });
  }
  await judge(t, 'no alg member, only one that looks like it', forge(`{"Alg":"ES256","kid":"${keys.ES256.kid}","typ":"at+jwt"}`, claims), 'both refuse', { code: 'ERR_JWS_INVALID' });

  // RSASSA-PSS with the RSA key, and Ed25519 by its fully-specified name (jose knows both; neither is published).
  const rsa = privateOf(keys.RS256);
  const pss = forge(headerOf(keys.RS256, { alg: 'PS256' }), claims, { hash: 'sha256', key: rsa, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
  await judge(t, 'PS256 signed with the published RSA key', pss, 'both refuse', { code: 'ERR_JOSE_ALG_NOT_ALLOWED' });
  await judge(t, '"Ed25519" signed with the published Ed25519 key', forge(headerOf(keys.EdDSA, { alg: 'Ed25519' }), claims, keys.EdDSA), 'both refuse', { code: 'ERR_JOSE_ALG_NOT_ALLOWED' });

  // The same alg, written with a JSON escape, is the same alg.
  const escaped = `{"alg":"\\u0045S256","kid":"${keys.ES256.kid}","typ":"at+jwt"}`;
  t.equal(JSON.parse(escaped).alg, 'ES256');
  await judge(t, 'alg ES256 written as "\\u0045S256"', forge(escaped, claims), 'both accept');
});

t.test('HMAC keyed with the public parts of the RSA and Ed25519 keys (RFC 8725 §2.1)', async (t) => {
  const claims = good();
  for (const key of [keys.RS256, keys.EdDSA]) {
    const publicKey = createPublicKey(privateOf(key));
    const jwk = key.publicJwk as unknown as Record<string, string>;
    const secrets: Record<string, string | Buffer> = {
      'the SPKI PEM': publicKey.export({ type: 'spki', format: 'pem' }),
      'the SPKI DER': publicKey.export({ type: 'spki', format: 'der' }),
      'the JWK': JSON.stringify(key.publicJwk),
      [key.alg === 'RS256' ? 'the modulus' : 'the raw public key']: Buffer.from((key.alg === 'RS256' ? jwk.n : jwk.x) as string, 'base64url'),
    };
    for (const [what, secret] of Object.entries(secrets)) {
      for (const alg of ['HS256', 'HS512']) {
        const h = segment(headerOf(key, { alg }));
        const p = segment(claims);
        const token = `${h}.${p}.${createHmac(alg === 'HS256' ? 'sha256' : 'sha512', secret).update(`${h}.${p}`).digest('base64url')}`;
        await judge(t, `${alg} keyed with ${what} of the ${key.alg} key`, token, 'both refuse', { code: 'ERR_JOSE_ALG_NOT_ALLOWED' });
      }
    }
  }
});

// ---------------------------------------------------------------- the key

t.test('kid: names JavaScript objects answer to, and near misses of a real kid', async (t) => {
  const claims = good();
  const kid = keys.ES256.kid;
  const refused: Array<[string, unknown]> = [
    ['__proto__', '__proto__'],
    ['constructor', 'constructor'],
    ['toString', 'toString'],
    ['hasOwnProperty', 'hasOwnProperty'],
    ['an empty kid', ''],
    ['the kid in capitals', kid.toUpperCase()],
    ['the kid with a trailing NUL', `${kid}\u0000`],
    ['the kid with a trailing space', `${kid} `],
    ['the kid in fullwidth letters', kid.replace(/[A-Za-z]/, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0))],
    ['the kid with padding', `${kid}=`],
    ['a lone surrogate', '\ud800'],
    ['the kid in an array', [kid]],
    ['the kid in an object', { kid }],
    ['true', true],
  ];
  for (const [what, value] of refused) {
    await judge(t, `kid: ${what}`, forge(headerOf(keys.ES256, { kid: value }), claims), 'both refuse', { code: 'ERR_JWKS_NO_MATCHING_KEY' });
  }
  const escaped = `{"alg":"ES256","kid":"${[...kid].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')}","typ":"at+jwt"}`;
  await judge(t, 'the real kid written entirely in JSON escapes', forge(escaped, claims), 'both accept');
  for (const key of [keys.RS256, keys.EdDSA]) {
    await judge(t, `no kid, ${key.alg}: the one key of that alg`, forge(headerOf(key, { kid: undefined }), claims, key), 'both accept');
  }
});

t.test('keys the header carries or points to are never used (RFC 7515 §4.1.2–4.1.6, RFC 8725 §3.10)', async (t) => {
  const claims = good();
  const attacker = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const attackerJwk = { ...attacker.publicKey.export({ format: 'jwk' }), alg: 'ES256', use: 'sig', kid: 'attacker' };
  const signer: Signer = { hash: 'sha256', key: attacker.privateKey, dsaEncoding: 'ieee-p1363' };
  const cases: Array<[string, Record<string, unknown>]> = [
    ['an embedded jwk, no kid', { alg: 'ES256', typ: 'at+jwt', jwk: attackerJwk }],
    ['an embedded jwk under its own kid', { alg: 'ES256', kid: 'attacker', typ: 'at+jwt', jwk: attackerJwk }],
    ['an embedded jwk under the published kid', { alg: 'ES256', kid: keys.ES256.kid, typ: 'at+jwt', jwk: { ...attackerJwk, kid: keys.ES256.kid } }],
    ['a jku', { alg: 'ES256', kid: 'attacker', typ: 'at+jwt', jku: 'https://attacker.example/jwks.json' }],
    ['an x5u', { alg: 'ES256', typ: 'at+jwt', x5u: 'https://attacker.example/cert.pem' }],
    ['an x5c', { alg: 'ES256', kid: keys.ES256.kid, typ: 'at+jwt', x5c: [attacker.publicKey.export({ type: 'spki', format: 'der' }).toString('base64')] }],
  ];
  for (const [what, header] of cases) {
    await judge(t, what, forge(header, claims, signer), 'both refuse');
  }
  await judge(t, 'an embedded jwk beside a token signed by the published key: ignored', forge({ ...headerOf(), jwk: attackerJwk }, claims), 'both accept');
});

// ---------------------------------------------------------------- the signature

const P256_ORDER = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
const ED25519_ORDER = (1n << 252n) + 27742317777372353535851937790883648493n;
const bigEndian = (value: bigint, bytes: number) => Buffer.from(value.toString(16).padStart(bytes * 2, '0'), 'hex');
const toBigInt = (bytes: Buffer) => BigInt(`0x${bytes.toString('hex')}`);

t.test('ES256 signatures: malleability, out-of-range values, other lengths and curves', async (t) => {
  const claims = good();
  const h = segment(headerOf());
  const p = segment(claims);
  const raw = signatureOf(`${h}.${p}`, signerOf(keys.ES256));
  const r = raw.subarray(0, 32);
  const s = toBigInt(raw.subarray(32));
  const withSignature = (signature: Buffer) => `${h}.${p}.${b64(signature)}`;
  await judge(t, 'the signature as made', withSignature(raw), 'both accept');

  // ECDSA is malleable: (r, n − s) verifies as (r, s) does. RFC 7518 §3.4 does not
  // ask for low S and neither verifier enforces it. Nothing in roost keys on an
  // access token's bytes but the verified-token cache, where the twin is only
  // another entry, verified on its own; sessions are keyed by sid, not the token.
  const twin = withSignature(Buffer.concat([r, bigEndian(P256_ORDER - s, 32)]));
  t.not(twin, withSignature(raw));
  await judge(t, 'the high-S twin (r, n − s)', twin, 'both accept');

  const refused: Record<string, Buffer> = {
    'r = 0, s = 0': Buffer.alloc(64),
    'r = 0': Buffer.concat([Buffer.alloc(32), bigEndian(s, 32)]),
    's = 0': Buffer.concat([r, Buffer.alloc(32)]),
    'r = n': Buffer.concat([bigEndian(P256_ORDER, 32), bigEndian(s, 32)]),
    's = n': Buffer.concat([r, bigEndian(P256_ORDER, 32)]),
    's + n, in 33 bytes': Buffer.concat([r, bigEndian(s + P256_ORDER, 33)]),
    'r and s swapped': Buffer.concat([bigEndian(s, 32), r]),
    '63 bytes (R || S without its first byte)': raw.subarray(1),
    '65 bytes (a zero byte in front)': Buffer.concat([Buffer.alloc(1), raw]),
    'R || S twice': Buffer.concat([raw, raw]),
  };
  for (const [what, signature] of Object.entries(refused)) {
    await judge(t, `ES256: ${what}`, withSignature(signature), 'both refuse', { code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
  }

  // A P-384 key: its 96-byte signature under the published kid, and the key itself published as an ES256 key.
  const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
  const p384Signer: Signer = { hash: 'sha256', key: p384.privateKey, dsaEncoding: 'ieee-p1363' };
  await judge(t, 'ES256 header, P-384 signature, the published kid', forge(headerOf(), claims, p384Signer), 'both refuse', { code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
  const p384Jwk = toPublicJwk(p384.publicKey.export({ format: 'jwk' }), 'p384', 'ES256');
  const mislabelled = [p384Jwk];
  const onlyP384 = { ours: createAccessTokenVerifier({ keys: mislabelled }, settings), theirs: joseVerifier(mislabelled) };
  await judge(t, 'a P-384 key published as ES256 verifies nothing', forge(headerOf(keys.ES256, { kid: 'p384' }), claims, p384Signer), 'both refuse', onlyP384);
});

t.test('EdDSA signatures: S not reduced, zeros, other lengths, an Ed448 key', async (t) => {
  const claims = good();
  const h = segment(headerOf(keys.EdDSA));
  const p = segment(claims);
  const raw = signatureOf(`${h}.${p}`, signerOf(keys.EdDSA));
  const withSignature = (signature: Buffer) => `${h}.${p}.${b64(signature)}`;
  await judge(t, 'the signature as made', withSignature(raw), 'both accept');
  // RFC 8032 §5.1.7: S must be below L, so S + L (the same point equation) is refused: Ed25519 is not malleable this way.
  const s = toBigInt(Buffer.from(raw.subarray(32)).reverse());
  const unreduced = Buffer.concat([raw.subarray(0, 32), bigEndian(s + ED25519_ORDER, 32).reverse()]);
  await judge(t, 'EdDSA: S + L', withSignature(unreduced), 'both refuse', { code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
  for (const [what, signature] of Object.entries({ zeros: Buffer.alloc(64), '63 bytes': raw.subarray(0, 63), '65 bytes': Buffer.concat([raw, Buffer.alloc(1)]) })) {
    await judge(t, `EdDSA: ${what}`, withSignature(signature), 'both refuse', { code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
  }
  const ed448 = generateKeyPairSync('ed448');
  const ed448Jwk = [toPublicJwk(ed448.publicKey.export({ format: 'jwk' }), 'ed448', 'EdDSA')];
  const token = forge(headerOf(keys.EdDSA, { kid: 'ed448' }), claims, { hash: null, key: ed448.privateKey });
  await judge(t, 'an Ed448 key published as EdDSA verifies nothing', token, 'both refuse', { ours: createAccessTokenVerifier({ keys: ed448Jwk }, settings), theirs: joseVerifier(ed448Jwk) });
});

t.test('RS256 signatures: a leading zero dropped or added, values at or past the modulus', async (t) => {
  // Find a signature whose first byte is zero (about one in 256).
  let h = '';
  let p = '';
  let raw: Buffer = Buffer.alloc(0);
  for (let attempt = 0; attempt < 5000; attempt += 1) {
    h = segment(headerOf(keys.RS256));
    p = segment(good({ jti: `j-${attempt}` }));
    raw = signatureOf(`${h}.${p}`, signerOf(keys.RS256));
    if (raw[0] === 0) break;
  }
  t.equal(raw[0], 0, 'a signature that starts with a zero byte');
  const withSignature = (signature: Buffer) => `${h}.${p}.${b64(signature)}`;
  await judge(t, 'the signature as made', withSignature(raw), 'both accept');
  const modulus = Buffer.from((keys.RS256.publicJwk.n as string), 'base64url');
  const refused: Record<string, Buffer> = {
    'the leading zero dropped (255 bytes)': raw.subarray(1),
    'another zero in front (257 bytes)': Buffer.concat([Buffer.alloc(1), raw]),
    'the modulus itself': modulus,
    'signature + modulus': bigEndian(toBigInt(raw) + toBigInt(modulus), 257),
    'all ones': Buffer.alloc(256, 0xff),
    'zero': Buffer.alloc(256),
    'one': bigEndian(1n, 256),
  };
  for (const [what, signature] of Object.entries(refused)) {
    await judge(t, `RS256: ${what}`, withSignature(signature), 'both refuse', { code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
  }
});

// ---------------------------------------------------------------- JSON

t.test('repeated members: the last one counts in both, as RFC 7515 §4 and RFC 7519 §4 allow', async (t) => {
  const kid = keys.ES256.kid;
  const header = (...entries: Array<readonly [string, unknown]>) => members([['kid', kid], ...entries]);
  await judge(t, '"alg":"none" then "alg":"ES256"', forge(header(['alg', 'none'], ['alg', 'ES256'], ['typ', 'at+jwt']), good()), 'both accept');
  await judge(t, '"alg":"ES256" then "alg":"none"', forge(header(['alg', 'ES256'], ['alg', 'none'], ['typ', 'at+jwt']), good()), 'both refuse', { code: 'ERR_JOSE_ALG_NOT_ALLOWED' });
  await judge(t, '"typ":"JWT" then "typ":"at+jwt"', forge(header(['alg', 'ES256'], ['typ', 'JWT'], ['typ', 'at+jwt']), good()), 'both accept');
  await judge(t, '"typ":"at+jwt" then "typ":"JWT"', forge(header(['alg', 'ES256'], ['typ', 'at+jwt'], ['typ', 'JWT']), good()), 'both refuse', { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED' });
  await judge(t, 'an unknown kid, then the real one', forge(members([['alg', 'ES256'], ['kid', 'other'], ['kid', kid], ['typ', 'at+jwt']]), good()), 'both accept');
  await judge(t, 'the real kid, then an unknown one', forge(members([['alg', 'ES256'], ['kid', kid], ['kid', 'other'], ['typ', 'at+jwt']]), good()), 'both refuse', { code: 'ERR_JWKS_NO_MATCHING_KEY' });

  const claims = (...extra: Array<readonly [string, unknown]>) => members([...goodMembers(), ...extra]);
  await judge(t, 'exp in the past, then exp to come', forge(headerOf(), members([['exp', IAT - 10], ...goodMembers()])), 'both accept');
  await judge(t, 'exp to come, then exp in the past', forge(headerOf(), claims(['exp', IAT - 10])), 'both refuse', { code: 'ERR_JWT_EXPIRED' });
  await judge(t, 'another issuer, then ours', forge(headerOf(), members([['iss', 'https://evil.example'], ...goodMembers()])), 'both accept');
  await judge(t, 'our issuer, then another', forge(headerOf(), claims(['iss', 'https://evil.example'])), 'both refuse', { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED' });
  await judge(t, 'our audience, then another', forge(headerOf(), claims(['aud', 'other'])), 'both refuse', { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED' });
});

t.test('__proto__ and other names objects answer to, as members of the header and the claims', async (t) => {
  const kid = keys.ES256.kid;
  await judge(t, 'the whole header inside "__proto__"', forge(members([['__proto__', { alg: 'ES256', kid, typ: 'at+jwt' }]]), good()), 'both refuse', { code: 'ERR_JWS_INVALID' });
  await judge(t, 'typ inside "__proto__"', forge(members([['alg', 'ES256'], ['kid', kid], ['__proto__', { typ: 'at+jwt' }]]), good()), 'both refuse', { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED' });
  await judge(t, 'kid inside "__proto__", two ES256 keys', forge(members([['alg', 'ES256'], ['__proto__', { kid }], ['typ', 'at+jwt']]), good()), 'both refuse', {
    ...twoEs256(),
    code: 'ERR_JWKS_MULTIPLE_MATCHING_KEYS',
  });
  await judge(t, 'crit inside "__proto__" (not a crit)', forge(members([...Object.entries(headerOf()), ['__proto__', { crit: ['exp'] }]]), good()), 'both accept');

  const required = Object.fromEntries(goodMembers());
  await judge(t, 'all the claims inside "__proto__"', forge(headerOf(), members([['__proto__', required]])), 'both refuse', { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED' });
  await judge(t, 'exp inside "__proto__", none of its own', forge(headerOf(), members([...goodMembers({ exp: undefined }), ['__proto__', { exp: IAT + 900 }]])), 'both refuse', { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED' });

  // The claims roost hands on: a "__proto__" member is data, not a prototype, so
  // bearer.ts's claims.client_id and /userinfo's claims.scope read only what the
  // token says at top level.
  const smuggled = forge(headerOf(), members([...goodMembers(), ['__proto__', { client_id: 'web', scope: 'openid', sid: 'other' }]]));
  await judge(t, 'client_id and scope inside "__proto__"', smuggled, 'both accept');
  const claims = (await roost(smuggled, NOW)) as Record<string, unknown>;
  t.equal(Object.getPrototypeOf(claims), Object.prototype, 'the claims keep their ordinary prototype');
  t.equal(claims.client_id, undefined, 'no client_id read through the prototype');
  t.equal(claims.scope, undefined, 'no scope read through the prototype');
  t.equal(claims.sid, 's-1', 'the sid is the top-level one');
  t.ok(Object.hasOwn(claims, '__proto__'), 'the member is kept as an own property');
  t.equal(({} as Record<string, unknown>).client_id, undefined, 'Object.prototype is untouched');

  const shadowing = forge(headerOf(), members([...goodMembers(), ['hasOwnProperty', 1], ['constructor', 'x'], ['toString', null], ['valueOf', []]]));
  await judge(t, 'claims named hasOwnProperty, constructor, toString, valueOf', shadowing, 'both accept');
  const shadowingHeader = forge(members([...Object.entries(headerOf()), ['hasOwnProperty', 1], ['constructor', {}]]), good());
  await judge(t, 'header members named hasOwnProperty and constructor', shadowingHeader, 'both accept');
});

function twoEs256(): Pick<JudgeOptions, 'ours' | 'theirs'> {
  const second = toPublicJwk(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ format: 'jwk' }), 'second', 'ES256');
  const set = [...published, second];
  return { ours: createAccessTokenVerifier({ keys: set }, settings), theirs: joseVerifier(set) };
}

t.test('JSON texts written otherwise: a byte order mark, white space, deep nesting', async (t) => {
  const header = JSON.stringify(headerOf());
  const claims = JSON.stringify(good());
  // TextDecoder drops a leading BOM in both (RFC 8259 §8.1 lets a parser ignore one).
  await judge(t, 'a BOM before the header', forge(`\ufeff${header}`, claims), 'both accept');
  await judge(t, 'a BOM before the claims', forge(header, `\ufeff${claims}`), 'both accept');
  await judge(t, 'two BOMs before the claims', forge(header, `\ufeff\ufeff${claims}`), 'both refuse', { code: 'ERR_JWT_INVALID' });
  await judge(t, 'white space around both', forge(` \n${header}\t`, `\r\n ${claims} `), 'both accept');
  await judge(t, 'the claims in UTF-16', signSegments(segment(header), b64(Buffer.from(claims, 'utf16le')), signerOf(keys.ES256)), 'both refuse', { code: 'ERR_JWT_INVALID' });
  // An overlong UTF-8 encoding of "}" (0xC1 0xBD): not UTF-8 (RFC 3629 §3).
  const overlong = Buffer.concat([Buffer.from(claims.slice(0, -1)), Buffer.from([0xc1, 0xbd])]);
  await judge(t, 'an overlong UTF-8 "}" closing the claims', signSegments(segment(header), b64(overlong), signerOf(keys.ES256)), 'both refuse', { code: 'ERR_JWT_INVALID' });

  // Nesting as deep as the length bound lets it go, signed: JSON.parse is not recursive, so neither fails.
  const depth = 2700;
  const deepClaims = `${claims.slice(0, -1)},"deep":${'['.repeat(depth)}${']'.repeat(depth)}}`;
  const deep = forge(header, deepClaims);
  t.ok(deep.length <= MAX_COMPACT_JWS_LENGTH, `${deep.length} characters`);
  await judge(t, `claims nested ${depth} deep`, deep, 'both accept');
  const deepHeader = forge(`${header.slice(0, -1)},"x":${'{"a":'.repeat(900)}1${'}'.repeat(900)}}`, claims);
  t.ok(deepHeader.length <= MAX_COMPACT_JWS_LENGTH, `${deepHeader.length} characters`);
  await judge(t, 'a header nested 900 deep', deepHeader, 'both accept');
  // Unsigned and unclosed: the header is read before the signature is checked, and is refused cleanly.
  const open = `${b64('['.repeat(5000))}.${b64(claims)}.${b64(Buffer.alloc(64))}`;
  t.ok(open.length <= MAX_COMPACT_JWS_LENGTH);
  await judge(t, 'a header of 5000 "[" and nothing else', open, 'both refuse', { code: 'ERR_JWS_INVALID' });
});

t.test('numbers at the edges: -0, fractions, past 2^53, past the largest double', async (t) => {
  const withText = (name: string, text: string) => forge(headerOf(), JSON.stringify(good()).replace(new RegExp(`"${name}":[^,}]+`), `"${name}":${text}`));
  const withClaims = (overrides: Record<string, unknown>) => forge(headerOf(), good(overrides));
  await judge(t, 'exp -0', withText('exp', '-0'), 'both refuse', { code: 'ERR_JWT_EXPIRED' });
  await judge(t, 'iat -0', withText('iat', '-0'), 'both accept');
  await judge(t, 'nbf -0', forge(headerOf(), `${JSON.stringify(good()).slice(0, -1)},"nbf":-0}`), 'both accept');
  await judge(t, 'exp past 2^53', withText('exp', '9007199254740993'), 'both accept');
  // A token that outlives any clock: both take it, and only a published key can sign one (roost writes exp as iat + ttl).
  await judge(t, 'exp 1e308', withText('exp', '1e308'), 'both accept');
  await judge(t, 'exp -1e400 (-Infinity)', withText('exp', '-1e400'), 'both refuse');
  await judge(t, 'nbf 1e400 (Infinity)', forge(headerOf(), `${JSON.stringify(good()).slice(0, -1)},"nbf":1e400}`), 'both refuse', { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED' });
  // Stricter: RFC 7519 §2 NumericDate is a number of seconds, and JSON has no infinity.
  await judge(t, 'nbf -1e400 (-Infinity)', forge(headerOf(), `${JSON.stringify(good()).slice(0, -1)},"nbf":-1e400}`), 'roost stricter', { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED' });
  await judge(t, 'iat 1e400 (Infinity)', withText('iat', '1e400'), 'roost stricter', { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED' });
  await judge(t, 'iat of 400 digits (Infinity)', withText('iat', `1${'0'.repeat(400)}`), 'roost stricter', { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED' });
  await judge(t, 'exp 1e-400 (0)', withText('exp', '1e-400'), 'both refuse', { code: 'ERR_JWT_EXPIRED' });

  // A fractional exp: the clock is in whole seconds, so exp X.5 is good through the whole second X.
  const exp = IAT + 900;
  await judge(t, 'exp X.5, in the last millisecond of second X', withClaims({ exp: exp + 0.5 }), 'both accept', { now: exp * 1000 + 999 });
  await judge(t, 'exp X.5, at second X + 1', withClaims({ exp: exp + 0.5 }), 'both refuse', { now: (exp + 1) * 1000, code: 'ERR_JWT_EXPIRED' });
  // nbf X.5 is not yet good anywhere in second X.
  await judge(t, 'nbf X.5, in the last millisecond of second X', withClaims({ nbf: IAT + 10.5 }), 'both refuse', { now: (IAT + 10) * 1000 + 999, code: 'ERR_JWT_CLAIM_VALIDATION_FAILED' });
  await judge(t, 'nbf X.5, at second X + 1', withClaims({ nbf: IAT + 10.5 }), 'both accept', { now: (IAT + 11) * 1000 });
  await judge(t, 'nbf X, one millisecond before second X', withClaims({ nbf: IAT + 10 }), 'both refuse', { now: (IAT + 10) * 1000 - 1, code: 'ERR_JWT_CLAIM_VALIDATION_FAILED' });
});

t.test('claims of the wrong type', async (t) => {
  const bothRefuse: Record<string, Record<string, unknown>> = {
    'exp true': { exp: true },
    'exp in an array': { exp: [IAT + 900] },
    'exp an object': { exp: {} },
    'exp null': { exp: null },
    'exp "1e10"': { exp: '1e10' },
    'iat null': { iat: null },
    'iss null': { iss: null },
    'iss in an array': { iss: [settings.issuer] },
    'aud [null]': { aud: [null] },
    'aud [["api"]]': { aud: [['api']] },
    'aud "api\\u0000"': { aud: 'api\u0000' },
    'aud " api"': { aud: ' api' },
    'aud []': { aud: [] },
    'aud null': { aud: null },
  };
  for (const [what, overrides] of Object.entries(bothRefuse)) {
    await judge(t, what, forge(headerOf(), good(overrides)), 'both refuse', { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED' });
  }
  // RFC 7519 §4.1.3 wants strings, but the one we ask for is there: jose takes it, and so does roost.
  await judge(t, 'aud ["api", null]', forge(headerOf(), good({ aud: ['api', null] })), 'both accept');
  await judge(t, 'aud ["api", 1, {}]', forge(headerOf(), good({ aud: ['api', 1, {}] })), 'both accept');
  // jose asks only that sub and jti be present; roost's own are strings (RFC 7519 §4.1.2, §4.1.7).
  const stricter: Record<string, Record<string, unknown>> = {
    'sub null': { sub: null },
    'sub in an array': { sub: ['u-1'] },
    'jti null': { jti: null },
    'jti a number': { jti: 1 },
  };
  for (const [what, overrides] of Object.entries(stricter)) {
    await judge(t, what, forge(headerOf(), good(overrides)), 'roost stricter', { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED' });
  }
});

// ---------------------------------------------------------------- typ

t.test('typ: media type parameters, look-alike letters, escapes, and typ in the wrong place', async (t) => {
  const claims = good();
  const refused: unknown[] = [
    'at+jwt; charset=utf-8',
    'application/at+jwt; charset=utf-8',
    'application/at+jwt;',
    ' at+jwt',
    'at+jwt\n',
    'at+jwt\u0000',
    'at+jwt\u200b',
    'аt+jwt', // Cyrillic а
    'ａｔ+jwt',
    'application/application/at+jwt',
    'application/at+jwt/',
    'at jwt',
    'at%2Bjwt',
    'jwt',
    'at',
    '',
    null,
    {},
    ['at+jwt', 'at+jwt'],
  ];
  for (const typ of refused) {
    await judge(t, `typ ${JSON.stringify(typ)}`, forge(headerOf(keys.ES256, { typ }), claims), 'both refuse', { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED' });
  }
  await judge(t, 'typ written as "\\u0061t+jwt"', forge(`{"alg":"ES256","kid":"${keys.ES256.kid}","typ":"\\u0061t+jwt"}`, claims), 'both accept');
  await judge(t, 'typ APPLICATION/AT+JWT', forge(headerOf(keys.ES256, { typ: 'APPLICATION/AT+JWT' }), claims), 'both accept');
  await judge(t, 'typ only as a claim', forge(headerOf(keys.ES256, { typ: undefined }), good({ typ: 'at+jwt' })), 'both refuse', { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED' });
  await judge(t, 'typ JWT in the header, at+jwt as a claim', forge(headerOf(keys.ES256, { typ: 'JWT' }), good({ typ: 'at+jwt' })), 'both refuse', { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED' });
  await judge(t, 'cty at+jwt instead of typ', forge(headerOf(keys.ES256, { typ: undefined, cty: 'at+jwt' }), claims), 'both refuse', { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED' });
  // An ID token roost signs (typ JWT, aud the client) under the same keys is no access token.
  const idToken = forge(headerOf(keys.ES256, { typ: 'JWT' }), good({ aud: 'api', nonce: 'n', auth_time: IAT }));
  await judge(t, 'an ID token of the same issuer and keys', idToken, 'both refuse', { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED' });
});

// ---------------------------------------------------------------- base64url

t.test('base64url: segments signed as written in a spelling jose decodes and roost does not', async (t) => {
  // JSON texts whose last base64url group is partial (so it has unused bits), the claims with a run of "~" (0x7E 0x7E 0x7E is "fn5+" in plain base64).
  const unaligned = (text: string) => `${text.slice(0, -1)}${' '.repeat((3 - ((Buffer.byteLength(text) + 1) % 3)) % 3)}}`;
  const header = unaligned(JSON.stringify(headerOf()));
  const claims = unaligned(JSON.stringify(good({ x: '~~~~~~' })));
  const es = signerOf(keys.ES256);
  // The segments below are signed as they are written, so the signature holds
  // whatever the spelling; only the decoding decides. RFC 7515 §2 and §7.1:
  // base64url with all trailing '=' omitted, no line breaks, white space or
  // other characters. jose's decoder (atob) forgives all of these; roost reads
  // only the one canonical spelling, which is the only one it ever writes.
  const h = b64(header);
  const p = b64(claims);
  const padded = (text: string) => `${text}${'='.repeat((4 - (text.length % 4)) % 4)}`;
  t.not(padded(p), p, 'the claims segment needs padding to be plain base64');
  await judge(t, 'the claims segment with "=" padding, signed so', signSegments(h, padded(p), es), 'roost stricter', { code: 'ERR_JWS_INVALID' });
  await judge(t, 'a space inside the claims segment, signed so', signSegments(h, `${p.slice(0, 8)} ${p.slice(8)}`, es), 'roost stricter', { code: 'ERR_JWS_INVALID' });
  await judge(t, 'a line break inside the header segment, signed so', signSegments(`${h.slice(0, 8)}\n${h.slice(8)}`, p, es), 'roost stricter', { code: 'ERR_JWS_INVALID' });
  const aliasLast = (text: string) => {
    // Bits past the last byte: a character that differs only there decodes to the same bytes.
    const last = text.at(-1) as string;
    const index = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.indexOf(last);
    return `${text.slice(0, -1)}${'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'[index ^ 1]}`;
  };
  t.ok(p.length % 4 !== 0 && h.length % 4 !== 0, 'both segments end in a partial group');
  t.same(Buffer.from(aliasLast(p), 'base64url'), Buffer.from(p, 'base64url'), 'the alias decodes to the same claims');
  // The claims segment is decoded only once the signature holds, hence JWTInvalid.
  await judge(t, 'the claims segment with non-zero trailing bits, signed so', signSegments(h, aliasLast(p), es), 'roost stricter', { code: 'ERR_JWT_INVALID' });
  t.same(Buffer.from(aliasLast(h), 'base64url'), Buffer.from(h, 'base64url'));
  await judge(t, 'the header segment with non-zero trailing bits, signed so', signSegments(aliasLast(h), p, es), 'roost stricter', { code: 'ERR_JWS_INVALID' });

  // And what neither decodes.
  const plain = Buffer.from(claims).toString('base64');
  t.match(plain, /[+/]/, 'the claims in plain base64 use "+" or "/"');
  await judge(t, 'the claims segment in plain base64 with "+" and "/", signed so', signSegments(h, plain.replace(/=+$/, ''), es), 'both refuse', { code: 'ERR_JWS_INVALID' });
  await judge(t, 'a non-ASCII space inside the claims segment, signed so', signSegments(h, `${p.slice(0, 8)}\u00a0${p.slice(8)}`, es), 'both refuse', { code: 'ERR_JWS_INVALID' });
});

// ---------------------------------------------------------------- size and shape

t.test('shapes that cost nothing to refuse, whatever their size', async (t) => {
  const token = forge(headerOf(), good());
  const [h, p, s] = token.split('.') as [string, string, string];
  const shapes: Record<string, string> = {
    'ten million characters': `${h}.${p}.${s}${'A'.repeat(10_000_000)}`,
    '8192 dots': '.'.repeat(MAX_COMPACT_JWS_LENGTH),
    '4096 one-character segments': 'a.'.repeat(4096).slice(0, -1),
    '8192 characters without a dot': 'A'.repeat(MAX_COMPACT_JWS_LENGTH),
    'two dots and 8190 characters of one segment': `${'A'.repeat(MAX_COMPACT_JWS_LENGTH - 2)}..`,
    '8192 non-ASCII characters': '€'.repeat(MAX_COMPACT_JWS_LENGTH),
    'a lone surrogate': `${h}.${p}.${s}\ud800`,
    'a zero-width space after the token': `${token}\u200b`,
    'a "~" (the bearer syntax allows it)': `${h}.${p}~.${s}`,
  };
  // Refused on the length or the character set, before any decoding.
  for (const [what, shape] of Object.entries(shapes)) await judge(t, what, shape, 'both refuse', { code: 'ERR_JWS_INVALID' });
});

// ---------------------------------------------------------------- the key set

t.test('a key set holding a key roost cannot use: a token without kid', async (t) => {
  // jose counts every key of the alg's kty and curve, usable or not, and refuses a
  // kid-less token when there are two; roost leaves an unusable key out first and
  // finds only one. roost signs every token with a kid and publishes only keys it
  // generated (2048-bit RSA, valid points), so no published set holds such a key;
  // the cases show the verdicts for a set that did.
  const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const smallJwk = toPublicJwk(small.publicKey.export({ format: 'jwk' }), 'small', 'RS256');
  const brokenEc = { ...keys.ES256.publicJwk, kid: 'broken', x: 'AAAA' };
  const set = [...published, smallJwk, brokenEc];
  const both = { ours: createAccessTokenVerifier({ keys: set }, settings), theirs: joseVerifier(set) };
  await judge(t, 'RS256 with kid, beside a 1024-bit RSA key', forge(headerOf(keys.RS256), good(), keys.RS256), 'both accept', both);
  await judge(t, 'ES256 with kid, beside a broken EC key', forge(headerOf(), good()), 'both accept', both);
  await judge(t, 'a token with the unusable key\'s kid', forge(headerOf(keys.RS256, { kid: 'small' }), good(), { hash: 'sha256', key: small.privateKey }), 'both refuse', both);
  await t.test('without kid, beside an unusable key of the same alg: both refuse, as two keys declare it', async (t) => {
    for (const key of [keys.RS256, keys.ES256]) {
      const token = forge(headerOf(key, { kid: undefined }), good(), key);
      const [mine, reference] = await Promise.all([settle(both.ours(token, NOW)), settle(both.theirs(token, NOW))]);
      t.equal(codeOf(reference.ok ? null : reference.error), 'ERR_JWKS_MULTIPLE_MATCHING_KEYS', `${key.alg}: jose refuses`);
      t.equal(mine.ok, false, `${key.alg}: roost refuses too`);
    }
  });
});

t.test('a token of a key that leaves the set is refused at the next verification, by both', async (t) => {
  const leaving = await roostKey('ES256');
  const staying = await roostKey('ES256');
  const before = [leaving.publicJwk, staying.publicJwk];
  const after = [staying.publicJwk];
  let current: { keys: readonly PublicJwk[] } = { keys: before };
  const ours = createAccessTokenVerifier(() => current, settings);
  const token = forge(headerOf(leaving), good(), leaving);
  await judge(t, 'while published', token, 'both accept', { ours, theirs: joseVerifier(before) });
  current = { keys: after };
  await judge(t, 'once it has left', token, 'both refuse', { ours, theirs: joseVerifier(after), code: 'ERR_JWKS_NO_MATCHING_KEY' });
  await judge(t, 'once it has left, without kid: the one key left does not verify it', forge(headerOf(leaving, { kid: undefined }), good(), leaving), 'both refuse', {
    ours,
    theirs: joseVerifier(after),
    code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
  });
  await judge(t, 'the key that stays', forge(headerOf(staying), good(), staying), 'both accept', { ours, theirs: joseVerifier(after) });
});

// ---------------------------------------------------------------- at random

t.test('any header and claims JSON: roost never accepts what jose refuses, and refuses cleanly', async (t) => {
  const SAME = Symbol('the signer\'s own');
  const DROP = Symbol('drop');
  const anyJson = fc.jsonValue({ maxDepth: 2 });
  // Mostly a good value, so that a fair share of the tokens is accepted and the comparison means something.
  const value = (weighted: fc.Arbitrary<unknown>) => fc.oneof({ arbitrary: weighted, weight: 24 }, { arbitrary: anyJson, weight: 1 }, { arbitrary: fc.constant(DROP), weight: 1 });
  const mostly = (usual: unknown, ...others: unknown[]) => fc.oneof({ arbitrary: fc.constant(usual), weight: 4 }, { arbitrary: fc.constantFrom(...others), weight: 1 });
  const times = (usual: number) => mostly(usual, IAT - 1, IAT, IAT + 1, IAT + 900, IAT + 901, -0, 0.5, 1e308);
  const headerArb = fc.record({
    alg: value(fc.oneof({ arbitrary: fc.constant(SAME), weight: 8 }, { arbitrary: fc.constantFrom('ES256', 'RS256', 'EdDSA', 'none', 'None', '', 'HS256', 'Ed25519', 'PS256'), weight: 2 })),
    kid: value(fc.oneof({ arbitrary: fc.constant(SAME), weight: 8 }, { arbitrary: fc.constantFrom(...published.map((key) => key.kid), '__proto__', 'constructor', ''), weight: 2 })),
    typ: value(fc.oneof({ arbitrary: fc.constant('at+jwt'), weight: 6 }, { arbitrary: fc.constantFrom('AT+JWT', 'application/at+jwt', 'JWT', 'at+jwt; a=b', 'application/jwt'), weight: 2 })),
  });
  const extraNames = fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'crit', 'b64', 'jwk', 'jku', 'cty', 'zip', 'alg', 'kid', 'typ', 'x');
  const claimArb = fc.record({
    iss: value(mostly(settings.issuer, `${settings.issuer}/`, 'https://evil.example')),
    sub: value(mostly('u-1', '')),
    aud: value(mostly('api', ['x', 'api'], ['x'], 'API')),
    iat: value(times(IAT)),
    exp: value(times(IAT + 900)),
    nbf: fc.oneof({ arbitrary: fc.constant(DROP), weight: 6 }, { arbitrary: times(IAT), weight: 2 }, { arbitrary: anyJson, weight: 1 }),
    jti: value(mostly('j-1', '')),
  });
  const claimNames = fc.constantFrom('__proto__', 'constructor', 'hasOwnProperty', 'iss', 'aud', 'exp', 'nbf', 'client_id', 'sid', 'x');
  const extras = (names: fc.Arbitrary<string>) => fc.oneof({ arbitrary: fc.constant([]), weight: 2 }, { arbitrary: fc.array(fc.tuple(names, anyJson), { minLength: 1, maxLength: 2 }), weight: 1 });
  const signers = fc.constantFrom(keys.ES256, keys.ES256, keys.RS256, keys.EdDSA);
  const tally = { accepted: 0, refused: 0, stricter: 0 };
  const stricterCodes = new Set<string>();
  await fc.assert(
    fc.asyncProperty(headerArb, extras(extraNames), claimArb, extras(claimNames), signers, async (header, headerExtras, claims, claimExtras, key) => {
      const resolve = (entries: Array<[string, unknown]>, own: Record<string, unknown>) =>
        entries.filter(([, v]) => v !== DROP).map(([name, v]) => [name, v === SAME ? own[name] : v] as const);
      const headerText = members([...resolve(Object.entries(header), { alg: key.alg, kid: key.kid }), ...headerExtras]);
      const claimsText = members([...resolve(Object.entries(claims), {}), ...claimExtras]);
      const token = forge(headerText, claimsText, key);
      const [mine, reference] = await Promise.all([settle(roost(token, NOW)), settle(jose(token, NOW))]);
      if (!mine.ok && !(mine.error instanceof errors.JOSEError)) return false;
      if (mine.ok) {
        tally.accepted += 1;
        return reference.ok && JSON.stringify(mine.value) === JSON.stringify(reference.value);
      }
      tally.refused += 1;
      if (reference.ok) {
        tally.stricter += 1;
        stricterCodes.add(codeOf(mine.error));
      }
      return true;
    }),
    { numRuns: 1500 },
  );
  t.ok(tally.accepted > 50 && tally.refused > 50, `accepted ${tally.accepted}, refused ${tally.refused}, of which jose accepted ${tally.stricter} (${[...stricterCodes].join(', ') || 'none'})`);
});

t.test('any string at all: a clean refusal, never a throw of another kind', async (t) => {
  const token = forge(headerOf(), good());
  const chars = fc.constantFrom(...'ABCxyz019-_.=+/ \n\t~%€\u0000\ud800'.split(''), '😀');
  let count = 0;
  await fc.assert(
    fc.asyncProperty(fc.oneof(fc.string({ unit: chars, maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 200 }), fc.nat(token.length).chain((cut) => fc.string({ unit: chars, maxLength: 8 }).map((insert) => token.slice(0, cut) + insert + token.slice(cut)))), async (input) => {
      count += 1;
      const mine = await settle(roost(input, NOW));
      if (mine.ok) return input === token;
      return mine.error instanceof errors.JOSEError;
    }),
    { numRuns: 1000 },
  );
  for (const input of [undefined, null, 42, {}, ['a.b.c'], Buffer.from(token)]) {
    const mine = await settle(roost(input as unknown as string, NOW));
    t.equal(mine.ok ? 'accepted' : codeOf(mine.error), 'ERR_JWS_INVALID', `${Object.prototype.toString.call(input)}: refused cleanly`);
  }
  t.pass(`${count} strings`);
});
