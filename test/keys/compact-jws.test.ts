// Compact JWS with node:crypto: the same bytes as jose's SignJWT, tokens
// that jose's jwtVerify accepts both ways, and every malformed, forged or
// confused token refused. Keys are made the way roost makes them
// (generateSigningKey, sealed, then opened), so the CryptoKeys are the ones
// the key ring holds.
import { createHmac, createPublicKey, generateKeyPairSync, randomBytes, sign, KeyObject } from 'node:crypto';
import fc from 'fast-check';
import { SignJWT, createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, type CryptoKey, type JWK } from 'jose';
import t from 'tap';
import { MAX_COMPACT_JWS_LENGTH, importVerificationKeys, signJwt, verifyJwt } from '../../src/keys/compact-jws.js';
import { generateSigningKey, openSigningKey, SIGNING_ALGS, toPublicJwk, type PublicJwk, type SigningAlg, type SigningKey } from '../../src/keys/signing-keys.js';

const encryptionKey = randomBytes(32);

async function roostKey(alg: SigningAlg): Promise<SigningKey> {
  const made = await generateSigningKey(alg, encryptionKey);
  return openSigningKey({ kid: made.kid, alg, public_jwk: { ...made.publicJwk }, private_jwk_sealed: made.privateJwkSealed }, encryptionKey);
}

const keys = {} as Record<SigningAlg, SigningKey>;
for (const alg of SIGNING_ALGS) keys[alg] = await roostKey(alg);
const published = SIGNING_ALGS.map((alg) => keys[alg].publicJwk);
const all = importVerificationKeys(published);

const b64 = (text: string) => Buffer.from(text).toString('base64url');
/** When `claims` are valid; the JWS layer reads no claim, jose's jwtVerify reads the times. */
const AT = new Date(1_767_225_700_000);
const claims = { iss: 'https://auth.example.com', sub: 'u-1', aud: 'api', iat: 1_767_225_600, exp: 1_767_226_500, jti: 'j-1', name: 'Zoë 😀 "quoted" </script>' };

/** A token signed by hand with node:crypto: any header and payload text, signed as `key`'s algorithm signs. */
function forge(header: unknown, payload: unknown, key: SigningKey): string {
  const h = typeof header === 'string' ? header : b64(JSON.stringify(header));
  const p = typeof payload === 'string' ? payload : b64(JSON.stringify(payload));
  return `${h}.${p}.${rawSignature(`${h}.${p}`, key)}`;
}

function rawSignature(input: string, key: SigningKey): string {
  const keyObject = KeyObject.from(key.privateKey as unknown as Parameters<typeof KeyObject.from>[0]);
  const data = Buffer.from(input);
  if (key.alg === 'ES256') return sign('sha256', data, { key: keyObject, dsaEncoding: 'ieee-p1363' }).toString('base64url');
  return sign(key.alg === 'RS256' ? 'sha256' : null, data, keyObject).toString('base64url');
}

const joseVerifies = (token: string, jwks: readonly PublicJwk[] = published) =>
  jwtVerify(token, createLocalJWKSet({ keys: jwks.map((key) => ({ ...key }) as JWK) }), {
    algorithms: [...new Set(jwks.map((key) => key.alg))],
    currentDate: AT,
  }).then(
    () => true,
    () => false,
  );

const oursVerifies = (token: string, set = all) => {
  try {
    verifyJwt(token, set);
    return true;
  } catch {
    return false;
  }
};

t.test('every algorithm: the bytes jose makes, and tokens each side verifies', async (t) => {
  for (const alg of SIGNING_ALGS) {
    const key = keys[alg];
    for (const typ of ['at+jwt', 'JWT']) {
      const ours = await signJwt(claims, key, typ);
      const theirs = await new SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: key.kid, typ }).sign(key.privateKey);
      const [oh, op, os] = ours.split('.') as [string, string, string];
      const [th, tp] = theirs.split('.') as [string, string];
      t.equal(oh, th, `${alg} ${typ}: the same header segment`);
      t.equal(op, tp, `${alg} ${typ}: the same payload segment`);
      t.same(JSON.parse(Buffer.from(oh, 'base64url').toString()), { alg, kid: key.kid, typ }, 'alg, kid, typ');
      t.same(Object.keys(JSON.parse(Buffer.from(oh, 'base64url').toString())), ['alg', 'kid', 'typ'], 'in that order');
      t.notMatch(ours, /[=+/]/, 'base64url without padding');
      // RSASSA-PKCS1-v1_5 and Ed25519 are deterministic: the whole token is the same.
      if (alg !== 'ES256') t.equal(ours, theirs, `${alg} ${typ}: the same token`);
      else t.equal(Buffer.from(os, 'base64url').length, 64, 'ES256: R || S, 64 bytes, not DER');

      const { payload, protectedHeader } = await jwtVerify(ours, createLocalJWKSet({ keys: [{ ...key.publicJwk }] }), { algorithms: [alg], currentDate: AT });
      t.same(payload, claims, `${alg}: jose verifies ours`);
      t.equal(protectedHeader.typ, typ);
      t.same(verifyJwt(theirs, all).payload, claims, `${alg}: ours verifies jose's`);
      t.same(verifyJwt(ours, all).header, { alg, kid: key.kid, typ });
    }
  }
});

t.test('any JSON claims: the same payload bytes as jose, and they come back unchanged', async (t) => {
  const key = keys.EdDSA;
  await fc.assert(
    fc.asyncProperty(fc.dictionary(fc.string({ unit: 'binary', maxLength: 12 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 8 }), async (extra) => {
      const payload = { ...extra, iat: 1, exp: 2 };
      const ours = await signJwt(payload, key, 'JWT');
      const theirs = await new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' }).sign(key.privateKey);
      if (ours !== theirs) return false;
      return JSON.stringify(verifyJwt(ours, all).payload) === JSON.stringify(JSON.parse(JSON.stringify(payload)));
    }),
    { numRuns: 200 },
  );
  t.pass('200 claim sets');
});

t.test('signing refuses what jose refuses, and a key of another algorithm', async (t) => {
  await t.rejects(signJwt({ ...claims, exp: Infinity }, keys.ES256, 'JWT'), { message: '"exp" claim must be a finite number' });
  await t.rejects(signJwt({ ...claims, iat: NaN }, keys.ES256, 'JWT'), TypeError);
  await t.rejects(signJwt([] as unknown as object, keys.ES256, 'JWT'), { message: 'JWT Claims Set MUST be an object' });
  await t.rejects(signJwt(claims, { ...keys.ES256, alg: 'HS256' }, 'JWT'), { code: 'ERR_JOSE_NOT_SUPPORTED' });
  await t.rejects(signJwt(claims, { ...keys.ES256, alg: 'RS256' }, 'JWT'), { message: /is not a private RS256 key/ }, 'an EC key does not sign RS256');
  await t.rejects(signJwt(claims, { ...keys.RS256, alg: 'EdDSA' }, 'JWT'), { message: /is not a private EdDSA key/ });
  t.ok(await signJwt(claims, keys.ES256, 'JWT'), 'the key still signs for its own algorithm after a refusal');
  const { privateKey } = await generateKeyPair('ES384', { extractable: true });
  await t.rejects(signJwt(claims, { kid: 'p384', alg: 'ES256', privateKey }, 'JWT'), { message: /not a private ES256 key/ }, 'a P-384 key does not sign ES256');
  const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
  await t.rejects(signJwt(claims, { kid: 'small', alg: 'RS256', privateKey: small.privateKey }, 'JWT'), { message: /not a private RS256 key/ }, 'RS256 needs 2048 bits (RFC 7518 §3.3)');
  const { publicKey } = await generateKeyPair('ES256', { extractable: true });
  await t.rejects(signJwt(claims, { kid: 'pub', alg: 'ES256', privateKey: publicKey }, 'JWT'), { message: /not a private ES256 key/ }, 'a public key does not sign');
});

t.test('malformed compact serializations', async (t) => {
  const token = await signJwt(claims, keys.ES256, 'at+jwt');
  t.ok(oursVerifies(token), 'the original verifies');
  const [h, p, s] = token.split('.') as [string, string, string];
  const cases: Record<string, string> = {
    'two parts': `${h}.${p}`,
    'four parts': `${token}.${s}`,
    'an empty signature': `${h}.${p}.`,
    'an empty payload': `${h}..${s}`,
    'an empty header': `.${p}.${s}`,
    'padding on the signature': `${token}==`,
    'padding on the header': `${h}=.${p}.${s}`,
    'base64 "+"': `${h}.${p}.${s.slice(0, 10)}+${s.slice(11)}`,
    'base64 "/"': `${h}.${p}.${s.slice(0, -1)}/`,
    'a space': `${h}.${p} .${s}`,
    'a trailing newline': `${token}\n`,
    'a stray "*"': `${h}*.${p}.${s}`,
    'a non-ASCII letter': `${h}.${p}é.${s}`,
    'a segment of 4n+1 characters': `${h}.${p}.${s}AAA`,
    'only dots': '..',
    'empty': '',
  };
  for (const [what, bad] of Object.entries(cases)) t.throws(() => verifyJwt(bad, all), { code: 'ERR_JWS_INVALID' }, what);
  t.throws(() => verifyJwt(undefined as unknown as string, all), { code: 'ERR_JWS_INVALID' }, 'not a string');

  // A 64-byte signature leaves 4 unused bits in its last character; another character there decodes to the same bytes.
  const last = s.at(-1) as string;
  const alias = 'AQgw'.includes(last) ? String.fromCharCode(last.charCodeAt(0) + 1) : String.fromCharCode(last.charCodeAt(0) - 1);
  const twin = `${h}.${p}.${s.slice(0, -1)}${alias}`;
  t.same(Buffer.from(twin.split('.')[2] as string, 'base64url'), Buffer.from(s, 'base64url'), 'the twin decodes to the same signature');
  t.throws(() => verifyJwt(twin, all), { code: 'ERR_JWS_INVALID' }, 'only the canonical encoding of a signature passes');
});

t.test('a size bound: the longest real token passes, one character more than the bound does not', async (t) => {
  // The sign-in hook may add 4096 bytes of claims; with RS256 (the longest signature) that is roost's longest token.
  const big = await signJwt({ ...claims, hook: 'x'.repeat(4096 - 12) }, keys.RS256, 'at+jwt');
  t.ok(big.length < MAX_COMPACT_JWS_LENGTH, `${big.length} characters`);
  t.ok(oursVerifies(big));
  const huge = await signJwt({ ...claims, hook: 'x'.repeat(MAX_COMPACT_JWS_LENGTH) }, keys.ES256, 'at+jwt');
  t.ok(await joseVerifies(huge), 'jose takes any length');
  t.throws(() => verifyJwt(huge, all), { code: 'ERR_JWS_INVALID' });
  const edge = await signJwt({ ...claims, pad: '' }, keys.ES256, 'at+jwt');
  const room = MAX_COMPACT_JWS_LENGTH - edge.length;
  // Base64url of n bytes is ceil(4n/3) characters: fill to exactly the bound, then go one past it.
  const exact = await (async () => {
    for (let extra = Math.floor((room * 3) / 4); extra > 0; extra -= 1) {
      const candidate = await signJwt({ ...claims, pad: 'y'.repeat(extra) }, keys.ES256, 'at+jwt');
      if (candidate.length <= MAX_COMPACT_JWS_LENGTH) return candidate;
    }
    throw new Error('no fill');
  })();
  t.ok(exact.length > MAX_COMPACT_JWS_LENGTH - 4, `${exact.length} characters`);
  t.ok(oursVerifies(exact), 'at the bound');
  const over = await signJwt({ ...claims, pad: 'y'.repeat(Math.floor((room * 3) / 4) + 3) }, keys.ES256, 'at+jwt');
  t.ok(over.length > MAX_COMPACT_JWS_LENGTH);
  t.throws(() => verifyJwt(over, all), { code: 'ERR_JWS_INVALID' }, 'past the bound');
});

t.test('tampering', async (t) => {
  for (const alg of SIGNING_ALGS) {
    const token = await signJwt(claims, keys[alg], 'at+jwt');
    const [h, p, s] = token.split('.') as [string, string, string];
    const flipped = Buffer.from(s, 'base64url');
    flipped[5] = (flipped[5] as number) ^ 1;
    t.throws(() => verifyJwt(`${h}.${p}.${flipped.toString('base64url')}`, all), { code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' }, `${alg}: a flipped signature bit`);
    const payload = b64(JSON.stringify({ ...claims, sub: 'u-2' }));
    t.throws(() => verifyJwt(`${h}.${payload}.${s}`, all), { code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' }, `${alg}: another payload`);
    const header = b64(JSON.stringify({ alg, kid: keys[alg].kid, typ: 'JWT' }));
    t.throws(() => verifyJwt(`${header}.${p}.${s}`, all), { code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' }, `${alg}: another header`);
    const spaced = b64(JSON.stringify({ alg, kid: keys[alg].kid, typ: 'at+jwt' }, null, 1));
    t.throws(() => verifyJwt(`${spaced}.${p}.${s}`, all), { code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' }, `${alg}: the same header, written otherwise`);
    t.throws(() => verifyJwt(`${h}.${p}.${s.slice(0, -4)}`, all), `${alg}: a shortened signature`);
    const other = await roostKey(alg);
    const impostor = await signJwt(claims, { ...other, kid: keys[alg].kid }, 'at+jwt');
    t.throws(() => verifyJwt(impostor, all), { code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' }, `${alg}: another key under the same kid`);
  }
  const es = await signJwt(claims, keys.ES256, 'at+jwt');
  const [h, p, s] = es.split('.') as [string, string, string];
  const raw = Buffer.from(s, 'base64url');
  // The same R and S as ASN.1 DER (what ECDSA gives by default): not JWS's form (RFC 7518 §3.4).
  const der = derSignature(raw);
  t.throws(() => verifyJwt(`${h}.${p}.${der.toString('base64url')}`, all), { code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' }, 'ES256: a DER signature');
});

function derSignature(raw: Buffer): Buffer {
  const integer = (bytes: Buffer) => {
    let start = 0;
    while (start < bytes.length - 1 && bytes[start] === 0) start += 1;
    const trimmed = bytes.subarray(start);
    const body = (trimmed[0] as number) & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed;
    return Buffer.concat([Buffer.from([0x02, body.length]), body]);
  };
  const body = Buffer.concat([integer(raw.subarray(0, 32)), integer(raw.subarray(32))]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

t.test('the header: alg, kid, crit, b64, and what it must be', async (t) => {
  const es = keys.ES256;
  const ok = { alg: 'ES256', kid: es.kid, typ: 'at+jwt' };
  t.ok(oursVerifies(forge(ok, claims, es)), 'a token forged with the right key and header verifies: the refusals below are for what they change');

  const none = `${b64(JSON.stringify({ ...ok, alg: 'none' }))}.${b64(JSON.stringify(claims))}.`;
  t.throws(() => verifyJwt(none, all), { code: 'ERR_JWS_INVALID' }, 'alg none, unsigned');
  t.throws(() => verifyJwt(forge({ ...ok, alg: 'none' }, claims, es), all), { code: 'ERR_JOSE_ALG_NOT_ALLOWED' }, 'alg none, with a signature');
  t.throws(() => verifyJwt(forge({ ...ok, alg: 'NONE' }, claims, es), all), { code: 'ERR_JOSE_ALG_NOT_ALLOWED' });
  t.throws(() => verifyJwt(forge({ ...ok, alg: 'es256' }, claims, es), all), { code: 'ERR_JOSE_ALG_NOT_ALLOWED' }, 'alg is case-sensitive');
  t.throws(() => verifyJwt(forge({ kid: es.kid, typ: 'at+jwt' }, claims, es), all), { code: 'ERR_JWS_INVALID' }, 'no alg');
  t.throws(() => verifyJwt(forge({ ...ok, alg: ['ES256'] }, claims, es), all), { code: 'ERR_JWS_INVALID' }, 'alg not a string');
  t.throws(() => verifyJwt(forge({ ...ok, alg: 'ES384' }, claims, es), all), { code: 'ERR_JOSE_ALG_NOT_ALLOWED' }, 'an algorithm no published key has');
  const esOnly = importVerificationKeys([es.publicJwk]);
  const rs = await signJwt(claims, keys.RS256, 'at+jwt');
  t.throws(() => verifyJwt(rs, esOnly), { code: 'ERR_JOSE_ALG_NOT_ALLOWED' }, 'a real RS256 token when only ES256 is published');

  // Algorithm confusion (RFC 8725 §2.1, §3.1).
  t.throws(() => verifyJwt(forge({ ...ok, alg: 'RS256' }, claims, es), all), { code: 'ERR_JWKS_NO_MATCHING_KEY' }, 'RS256 named with the EC key\'s kid');
  t.throws(() => verifyJwt(forge({ alg: 'ES256', kid: keys.RS256.kid, typ: 'at+jwt' }, claims, keys.RS256), all), { code: 'ERR_JWKS_NO_MATCHING_KEY' }, 'ES256 named with the RSA key\'s kid');
  t.throws(() => verifyJwt(forge({ alg: 'EdDSA', kid: es.kid, typ: 'at+jwt' }, claims, keys.EdDSA), all), { code: 'ERR_JWKS_NO_MATCHING_KEY' });
  for (const secret of [createPublicKey(KeyObject.from(es.privateKey as unknown as Parameters<typeof KeyObject.from>[0])).export({ type: 'spki', format: 'pem' }), JSON.stringify(es.publicJwk)]) {
    const h = b64(JSON.stringify({ alg: 'HS256', kid: es.kid, typ: 'at+jwt' }));
    const p = b64(JSON.stringify(claims));
    const hs = `${h}.${p}.${createHmac('sha256', secret).update(`${h}.${p}`).digest('base64url')}`;
    t.throws(() => verifyJwt(hs, all), { code: 'ERR_JOSE_ALG_NOT_ALLOWED' }, 'HS256 keyed with the public key');
    const withOct = importVerificationKeys([...published, { kty: 'oct', kid: es.kid, alg: 'HS256', use: 'sig', k: Buffer.from(secret).toString('base64url') } as unknown as PublicJwk]);
    t.same([...withOct.algorithms], [...all.algorithms], 'a symmetric key in the set is never imported');
    t.throws(() => verifyJwt(hs, withOct), { code: 'ERR_JOSE_ALG_NOT_ALLOWED' }, 'HS256 even with an "oct" key in the set');
  }

  // kid
  t.throws(() => verifyJwt(forge({ ...ok, kid: 'unknown' }, claims, es), all), { code: 'ERR_JWKS_NO_MATCHING_KEY' }, 'an unknown kid');
  t.throws(() => verifyJwt(forge({ ...ok, kid: 7 }, claims, es), all), { code: 'ERR_JWKS_NO_MATCHING_KEY' }, 'a kid that is not a string');
  t.throws(() => verifyJwt(forge({ ...ok, kid: null }, claims, es), all), { code: 'ERR_JWKS_NO_MATCHING_KEY' }, 'a null kid');
  const unnamed = forge({ alg: 'ES256', typ: 'at+jwt' }, claims, es);
  t.ok(oursVerifies(unnamed) && (await joseVerifies(unnamed)), 'no kid, one key of the alg: that key (as jose)');
  const next = await roostKey('ES256');
  const two = [...published, next.publicJwk];
  t.notOk(oursVerifies(unnamed, importVerificationKeys(two)) || (await joseVerifies(unnamed, two)), 'no kid, two keys of the alg: refused (as jose)');
  t.ok(oursVerifies(await signJwt(claims, next, 'at+jwt'), importVerificationKeys(two)), 'with its kid, the second key verifies');

  // crit and b64 (RFC 7515 §4.1.11, RFC 7797).
  t.throws(() => verifyJwt(forge({ ...ok, crit: ['exp'], exp: 1 }, claims, es), all), { code: 'ERR_JOSE_NOT_SUPPORTED' }, 'crit');
  t.throws(() => verifyJwt(forge({ ...ok, crit: [] }, claims, es), all), { code: 'ERR_JOSE_NOT_SUPPORTED' }, 'an empty crit');
  const b64True = forge({ ...ok, b64: true, crit: ['b64'] }, claims, es);
  t.ok(await joseVerifies(b64True), 'jose takes b64: true under crit');
  t.throws(() => verifyJwt(b64True, all), 'roost takes no crit at all');
  const rawPayload = JSON.stringify(claims).replaceAll('.', '');
  const unencoded = `${b64(JSON.stringify({ ...ok, b64: false, crit: ['b64'] }))}.${rawPayload}.${rawSignature(`${b64(JSON.stringify({ ...ok, b64: false, crit: ['b64'] }))}.${rawPayload}`, es)}`;
  t.throws(() => verifyJwt(unencoded, all), 'b64: false with an unencoded payload');
  t.throws(() => verifyJwt(forge({ ...ok, b64: false, crit: ['b64'] }, claims, es), all), 'b64: false under crit');
  t.throws(() => verifyJwt(forge({ ...ok, b64: false }, claims, es), all), { code: 'ERR_JWT_INVALID' }, 'b64: false without crit');
  t.throws(() => verifyJwt(forge({ ...ok, b64: true }, claims, es), all), { code: 'ERR_JWT_INVALID' }, 'b64: true without crit');

  // The header is a JSON object in UTF-8.
  for (const [what, header] of [
    ['an array', b64('["ES256"]')],
    ['a string', b64('"ES256"')],
    ['null', b64('null')],
    ['not JSON', b64('{alg:ES256}')],
    ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]).toString('base64url')],
  ] as const) {
    t.throws(() => verifyJwt(forge(header, claims, es), all), { code: 'ERR_JWS_INVALID' }, `a header that is ${what}`);
  }
});

t.test('the payload is a JSON object in UTF-8, read only once the signature holds', async (t) => {
  const es = keys.ES256;
  const header = { alg: 'ES256', kid: es.kid, typ: 'at+jwt' };
  for (const [what, payload] of [
    ['an array', b64('[1]')],
    ['a string', b64('"sub"')],
    ['a number', b64('1')],
    ['null', b64('null')],
    ['true', b64('true')],
    ['not JSON', b64('{"sub":')],
    ['JSON with trailing text', b64('{"sub":"a"} x')],
    ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0x73, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]).toString('base64url')],
  ] as const) {
    const token = forge(header, payload, es);
    t.throws(() => verifyJwt(token, all), { code: 'ERR_JWT_INVALID' }, `a payload that is ${what}`);
    t.notOk(await joseVerifies(token), `jose refuses ${what} too`);
  }
  const unsigned = `${b64(JSON.stringify(header))}.${b64('[1]')}.${b64('x'.repeat(64))}`;
  t.throws(() => verifyJwt(unsigned, all), { code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' }, 'a bad payload under a bad signature fails on the signature');
});

t.test('the published set: only keys that make a key of their algorithm', async (t) => {
  const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const smallJwk = toPublicJwk(small.publicKey.export({ format: 'jwk' }), 'small', 'RS256');
  const set = importVerificationKeys([
    smallJwk,
    { ...keys.ES256.publicJwk, kid: 'curve', crv: 'P-384' },
    { ...keys.ES256.publicJwk, kid: 'broken', x: 'AAAA' },
    { ...keys.EdDSA.publicJwk, kid: 'as-es', alg: 'ES256' },
    { ...keys.ES256.publicJwk, kid: 'enc', use: 'enc' as 'sig' },
    { ...keys.ES256.publicJwk, kid: 'ps', alg: 'PS256' },
  ]);
  t.same(set.keys, [], 'none of these is usable');
  t.same([...set.algorithms], []);
  const forgedSmall = (() => {
    const h = b64(JSON.stringify({ alg: 'RS256', kid: 'small', typ: 'at+jwt' }));
    const p = b64(JSON.stringify(claims));
    return `${h}.${p}.${sign('sha256', Buffer.from(`${h}.${p}`), small.privateKey).toString('base64url')}`;
  })();
  t.notOk(oursVerifies(forgedSmall, importVerificationKeys([smallJwk])), 'an RSA key under 2048 bits verifies nothing');
  t.notOk(await joseVerifies(forgedSmall, [smallJwk]), 'nor with jose');

  const jwk = (await exportJWK((await generateKeyPair('ES256', { extractable: true })).publicKey)) as Record<string, unknown>;
  const usable = importVerificationKeys([toPublicJwk(jwk, 'ok', 'ES256'), keys.RS256.publicJwk]);
  t.same([...usable.algorithms].sort(), ['ES256', 'RS256']);
});

t.test('never looser than jose: random edits of a real token', async (t) => {
  const tokens = await Promise.all(SIGNING_ALGS.map((alg) => signJwt(claims, keys[alg], 'at+jwt')));
  const alphabet = 'AQgwBb-_=+/. eyJ0';
  let acceptedByUs = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...tokens),
      fc.array(fc.tuple(fc.nat(), fc.constantFrom('replace', 'insert', 'delete'), fc.constantFrom(...alphabet)), { minLength: 1, maxLength: 3 }),
      async (token, edits) => {
        let edited = token;
        for (const [at, how, char] of edits) {
          const i = at % (edited.length + 1);
          edited = how === 'insert' ? edited.slice(0, i) + char + edited.slice(i) : edited.slice(0, i) + (how === 'replace' ? char : '') + edited.slice(i + 1);
        }
        if (!oursVerifies(edited)) return true;
        acceptedByUs += 1;
        return edited === token && (await joseVerifies(edited));
      },
    ),
    { numRuns: 400 },
  );
  t.pass(`400 edited tokens; ${acceptedByUs} left the token as it was and verified`);
});

t.test('a key ring\'s CryptoKey that is not extractable signs all the same', async (t) => {
  for (const alg of SIGNING_ALGS) {
    t.equal((keys[alg].privateKey as CryptoKey).extractable, false, `${alg}: the opened key is not extractable`);
    t.ok(oursVerifies(await signJwt(claims, keys[alg], 'at+jwt')));
  }
});
