// The admin keys: which configured key a presented one is, by a constant-time
// comparison of SHA-256 digests, and the public id that names it.
import { createHash, randomBytes } from 'node:crypto';
import t from 'tap';
import { ADMIN_KEY_ID_LENGTH, adminKeyId, createAdminKeyring } from '../../../src/admin/admin-keys.js';

const first = randomBytes(32).toString('hex');
const second = `${randomBytes(30).toString('base64url')}~!`;

t.test('a key id is the start of the key’s SHA-256 in hex, and says nothing of the key', async (t) => {
  t.equal(adminKeyId(first), createHash('sha256').update(first).digest('hex').slice(0, 12));
  t.equal(ADMIN_KEY_ID_LENGTH, 12);
  t.match(adminKeyId(second), /^[0-9a-f]{12}$/);
  t.not(adminKeyId(first), adminKeyId(second));
  t.notOk(first.includes(adminKeyId(first)) || second.includes(adminKeyId(second)), 'not a piece of the key');
});

t.test('each configured key matches as itself, nothing else matches', async (t) => {
  const keyring = createAdminKeyring([first, second]);
  t.equal(keyring.match(first), adminKeyId(first));
  t.equal(keyring.match(second), adminKeyId(second));
  const flipped = `${first.slice(0, -1)}${first.endsWith('0') ? '1' : '0'}`;
  const refused: Array<[string, string]> = [
    ['the empty string', ''],
    ['another key of the same length', randomBytes(32).toString('hex')],
    ['the key with its last character changed', flipped],
    ['the key in capitals', first.toUpperCase()],
    ['a prefix of the key', first.slice(0, 63)],
    ['the key with a character more', `${first}0`],
    ['both keys together', `${first},${second}`],
    ['the key id', adminKeyId(first)],
    ['the key’s digest in hex', createHash('sha256').update(first).digest('hex')],
    ['the key with spaces around', ` ${first} `],
  ];
  for (const [name, presented] of refused) t.equal(keyring.match(presented), undefined, name);
});

t.test('without keys nothing matches', async (t) => {
  t.equal(createAdminKeyring([]).match(first), undefined);
  t.equal(createAdminKeyring([]).match(''), undefined);
});

t.test('the same key listed twice matches once, by its id', async (t) => {
  t.equal(createAdminKeyring([first, first, second]).match(first), adminKeyId(first));
});
