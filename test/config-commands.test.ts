// The operator's commands read only the variables they use: a production
// migrate, keys or sessions run needs neither the Twitter app, nor
// COOKIE_SECRET, nor RETURN_TO_URLS, and a bad value of a variable a
// command does not use does not stop it.
import t from 'tap';
import { problemsOfLoading } from './helpers/config-problems.js';
import { loadConfig, loadKeysCommandConfig, loadMigrateConfig, loadSessionsCommandConfig } from '../src/config.js';

const HEX_KEY = 'ab'.repeat(32);
const DATABASE_URL = 'postgres://roost@db:5432/roost';


/** Values the server needs and the commands must not look at, all of them bad. */
const serverOnly = { TWITTER_CONSUMER_SECRET: 'orphan', RETURN_TO_URLS: 'not a url', COOKIE_SECRET: 'short', LOG_LEVEL: 'loud', PORT: 'eighty', REDIS_URL: 'http://redis' };

t.test('migrate: the database only', async (t) => {
  const config = loadMigrateConfig({ NODE_ENV: 'production', DATABASE_URL, ...serverOnly });
  t.same(config, { databaseUrl: DATABASE_URL, databaseTimeoutMs: 5000, dataDir: '.data' });
  t.ok(Object.isFrozen(config), 'frozen');
  t.same(loadMigrateConfig({ NODE_ENV: 'production' }), { databaseUrl: undefined, databaseTimeoutMs: 5000, dataDir: '.data' }, 'the embedded database in DATA_DIR');
  t.same(problemsOfLoading(() => loadMigrateConfig({ DATABASE_URL: 'mysql://db/roost', DATABASE_TIMEOUT_MS: '50', ENCRYPTION_KEY: 'short' })), [
    'DATABASE_URL must be a postgres:// or postgresql:// URL',
    'DATABASE_TIMEOUT_MS must be a whole number from 100 to 60000 (got "50")',
  ]);
});

t.test('keys: the database, ENCRYPTION_KEY (required in production) and the key settings', async (t) => {
  const config = loadKeysCommandConfig({ NODE_ENV: 'production', DATABASE_URL, ENCRYPTION_KEY: HEX_KEY, ...serverOnly });
  t.equal(config.databaseUrl, DATABASE_URL);
  t.same(config.encryptionKey, Buffer.from(HEX_KEY, 'hex'));
  t.same(config.encryptionKeysPrevious, []);
  t.match(config, { jwtAlg: 'ES256', jwksMaxAge: 300, keyRefreshInterval: 5, keyRotationInterval: 0, accessTokenTtl: 900 });
  t.ok(Object.isFrozen(config), 'frozen');
  t.equal(loadKeysCommandConfig({}).encryptionKey, undefined, 'outside production the key generated in DATA_DIR serves');

  t.same(problemsOfLoading(() => loadKeysCommandConfig({ NODE_ENV: 'production', DATABASE_URL, ...serverOnly })), [
    'ENCRYPTION_KEY is required when NODE_ENV=production (32 random bytes, hex or base64)',
  ]);
  t.same(
    problemsOfLoading(() =>
      loadKeysCommandConfig({ DATABASE_URL, ENCRYPTION_KEY: HEX_KEY, ENCRYPTION_KEYS_PREVIOUS: 'nope', JWT_ALG: 'HS256', KEY_ROTATION_INTERVAL: '60', ACCESS_TOKEN_TTL: '5' }),
    ),
    [
      'ENCRYPTION_KEYS_PREVIOUS entry 1 must be 32 bytes written as 64 hex digits or base64/base64url',
      'JWT_ALG must be one of ES256, EdDSA, RS256 (got "HS256")',
      'KEY_ROTATION_INTERVAL must be 0 (off) or at least 3600 seconds: an hour, and twice the 365 s a new key is published before it signs (got "60")',
      'ACCESS_TOKEN_TTL must be a whole number from 30 to 86400 (got "5")',
    ],
  );
});

t.test('sessions: the database and the session times', async (t) => {
  const config = loadSessionsCommandConfig({ NODE_ENV: 'production', DATABASE_URL, SESSION_RETENTION: '86400', ...serverOnly });
  t.same(config, { databaseUrl: DATABASE_URL, databaseTimeoutMs: 5000, dataDir: '.data', sessionTtl: 30 * 86400, sessionIdleTtl: 7 * 86400, sessionRetention: 86400 });
  t.equal(loadSessionsCommandConfig({ SESSION_TTL: '3600' }).sessionIdleTtl, 3600, 'the idle default follows a short SESSION_TTL, as in the server');
  t.same(problemsOfLoading(() => loadSessionsCommandConfig({ NODE_ENV: 'production', SESSION_TTL: '3600', SESSION_IDLE_TTL: '7200', SESSION_RETENTION: 'a week' })), [
    'SESSION_IDLE_TTL (7200) must not exceed SESSION_TTL (3600)',
    'SESSION_RETENTION must be a whole number from 0 to 31622400 (got "a week")',
  ]);
});

t.test('each command reads what the server reads from the same environment', async (t) => {
  const env = {
    NODE_ENV: 'production',
    TWITTER_CONSUMER_KEY: 'k',
    TWITTER_CONSUMER_SECRET: 's',
    COOKIE_SECRET: 'c'.repeat(32),
    RETURN_TO_URLS: 'https://app.example.com/signed-in',
    DATABASE_URL,
    DATABASE_TIMEOUT_MS: '2500',
    DATA_DIR: '/var/lib/roost',
    ENCRYPTION_KEY: HEX_KEY,
    ENCRYPTION_KEYS_PREVIOUS: 'cd'.repeat(32),
    JWT_ALG: 'EdDSA',
    JWKS_MAX_AGE: '60',
    KEY_REFRESH_INTERVAL: '2',
    KEY_ROTATION_INTERVAL: '7776000',
    ACCESS_TOKEN_TTL: '300',
    SESSION_TTL: '86400',
    SESSION_RETENTION: '0',
  };
  const server = loadConfig(env) as unknown as Record<string, unknown>;
  for (const [name, command] of Object.entries({ migrate: loadMigrateConfig(env), keys: loadKeysCommandConfig(env), sessions: loadSessionsCommandConfig(env) })) {
    for (const [key, value] of Object.entries(command)) t.same(value, server[key], `${name}: ${key}`);
  }
});
