import { randomBytes } from 'node:crypto';
import t from 'tap';
import { decryptSecret, encryptSecret } from '../src/crypto-box.js';

const key = randomBytes(32);

t.test('round trip', async (t) => {
  const sealed = encryptSecret(key, 'token secret ✓', 'ctx');
  t.not(sealed, encryptSecret(key, 'token secret ✓', 'ctx'), 'a fresh IV every time');
  t.notMatch(sealed, /token secret/);
  t.equal(decryptSecret(key, sealed, 'ctx'), 'token secret ✓');
});

t.test('a wrong key, context or tampered value does not decrypt', async (t) => {
  const sealed = encryptSecret(key, 'secret', 'users:1');
  t.throws(() => decryptSecret(randomBytes(32), sealed, 'users:1'));
  t.throws(() => decryptSecret(key, sealed, 'users:2'));
  const parts = sealed.split('.');
  const body = Buffer.from(parts[2] as string, 'base64url');
  body[0] = (body[0] as number) ^ 1;
  parts[2] = body.toString('base64url');
  t.throws(() => decryptSecret(key, parts.join('.'), 'users:1'));
  t.throws(() => decryptSecret(key, 'v2.a.b.c', 'users:1'), /unknown format/);
  t.throws(() => decryptSecret(key, 'garbage', 'users:1'), /unknown format/);
});
