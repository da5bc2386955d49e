// Outside production, a missing COOKIE_SECRET or ENCRYPTION_KEY is generated
// once and kept in the data folder, so sealed data survives a restart.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseKey } from '../config.js';

export interface LocalSecrets {
  readonly cookieSecret: string;
  readonly encryptionKey: Buffer;
}

export function loadOrCreateLocalSecrets(dataDir: string): LocalSecrets {
  const file = path.resolve(dataDir, 'secrets.json');
  try {
    const stored = JSON.parse(readFileSync(file, 'utf8')) as { cookieSecret?: unknown; encryptionKey?: unknown };
    const encryptionKey = typeof stored.encryptionKey === 'string' ? parseKey(stored.encryptionKey) : undefined;
    if (typeof stored.cookieSecret === 'string' && stored.cookieSecret.length >= 32 && encryptionKey) {
      return { cookieSecret: stored.cookieSecret, encryptionKey };
    }
    throw new Error(`${file} is damaged: delete it to generate new secrets (data sealed with the old key is then lost)`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const secrets = { cookieSecret: randomBytes(32).toString('base64url'), encryptionKey: randomBytes(32) };
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify({ cookieSecret: secrets.cookieSecret, encryptionKey: secrets.encryptionKey.toString('hex') }), {
    mode: 0o600,
    flag: 'wx',
  });
  return secrets;
}
