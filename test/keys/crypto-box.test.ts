import { createCipheriv, randomBytes } from 'node:crypto';
import t from 'tap';
import { decryptSecret, encryptSecret, isSealedWithCurrentKey, keyId } from '../../src/keys/crypto-box.js';

const key = randomBytes(32);
const keys = { current: key, previous: [] };

t.test('round trip', async (t) => {
  const sealed = encryptSecret(keys, 'token secret ✓', 'ctx');
  t.not(sealed, encryptSecret(keys, 'token secret ✓', 'ctx'), 'a fresh IV every time');
  t.notMatch(sealed, /token secret/);
  t.equal(decryptSecret(keys, sealed, 'ctx'), 'token secret ✓');
});

t.test('a sealed value names its key', async (t) => {
  const sealed = encryptSecret(keys, 'x', 'ctx');
  t.match(sealed, new RegExp(`^v2\\.${keyId(key)}\\.[\\w-]+\\.[\\w-]+\\.[\\w-]+$`));
  t.match(keyId(key), /^[\w-]{8}$/);
  t.not(keyId(key), keyId(randomBytes(32)), 'different keys, different ids');
  t.equal(keyId(key), keyId(Buffer.from(key)), 'derived from the key alone');
  t.notMatch(sealed, key.toString('hex').slice(0, 16), 'the id is not the key');
  t.ok(isSealedWithCurrentKey(keys, sealed));
  t.notOk(isSealedWithCurrentKey({ current: randomBytes(32), previous: [key] }, sealed));
});

t.test('after a rotation, values sealed with a previous key still open', async (t) => {
  const old = randomBytes(32);
  const older = randomBytes(32);
  const sealedOld = encryptSecret({ current: old, previous: [] }, 'old secret', 'ctx');
  const sealedOlder = encryptSecret({ current: older, previous: [] }, 'older secret', 'ctx');
  const rotated = { current: randomBytes(32), previous: [old, older] };
  t.equal(decryptSecret(rotated, sealedOld, 'ctx'), 'old secret');
  t.equal(decryptSecret(rotated, sealedOlder, 'ctx'), 'older secret');
  t.match(encryptSecret(rotated, 'new', 'ctx'), `v2.${keyId(rotated.current)}.`, 'new values use the current key');
  t.throws(() => decryptSecret({ current: rotated.current, previous: [] }, sealedOld, 'ctx'), /sealed with key [\w-]{8}, which is neither ENCRYPTION_KEY nor in ENCRYPTION_KEYS_PREVIOUS/);
});

t.test('values sealed before key ids (v1) still open with whichever key sealed them', async (t) => {
  const legacy = (sealingKey: Buffer, plaintext: string, context: string) => {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', sealingKey, iv);
    cipher.setAAD(Buffer.from(context));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return ['v1', iv, body, cipher.getAuthTag()].map((part) => (typeof part === 'string' ? part : part.toString('base64url'))).join('.');
  };
  const old = randomBytes(32);
  const sealed = legacy(old, 'legacy secret', 'ctx');
  t.equal(decryptSecret({ current: old, previous: [] }, sealed, 'ctx'), 'legacy secret');
  t.equal(decryptSecret({ current: randomBytes(32), previous: [old] }, sealed, 'ctx'), 'legacy secret');
  t.throws(() => decryptSecret({ current: randomBytes(32), previous: [] }, sealed, 'ctx'), /neither ENCRYPTION_KEY nor in ENCRYPTION_KEYS_PREVIOUS/);
  t.throws(() => decryptSecret({ current: old, previous: [] }, sealed, 'other'), 'the context still binds');
  t.notOk(isSealedWithCurrentKey({ current: old, previous: [] }, sealed), 'a legacy value is due for re-sealing');
});

t.test('a wrong key, context or tampered value does not decrypt', async (t) => {
  const sealed = encryptSecret(keys, 'secret', 'users:1');
  t.throws(() => decryptSecret({ current: randomBytes(32), previous: [] }, sealed, 'users:1'));
  t.throws(() => decryptSecret(keys, sealed, 'users:2'));
  const parts = sealed.split('.');
  const body = Buffer.from(parts[3] as string, 'base64url');
  body[0] = (body[0] as number) ^ 1;
  t.throws(() => decryptSecret(keys, [...parts.slice(0, 3), body.toString('base64url'), parts[4]].join('.'), 'users:1'), 'tampered body');
  const shortTag = Buffer.from(parts[4] as string, 'base64url').subarray(0, 4).toString('base64url');
  t.throws(() => decryptSecret(keys, [...parts.slice(0, 4), shortTag].join('.'), 'users:1'), 'truncated tag');
  t.throws(() => decryptSecret(keys, 'v3.a.b.c.d', 'users:1'), /unknown format/);
  t.throws(() => decryptSecret(keys, 'v2.a.b.c', 'users:1'), /unknown format/);
  t.throws(() => decryptSecret(keys, 'garbage', 'users:1'), /unknown format/);
});
