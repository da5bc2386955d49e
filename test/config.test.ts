import t from 'tap';
import { loadConfig, SANDBOX_CONSUMER_KEY } from '../src/config.js';
import { problemsOf } from './helpers/config-problems.js';

const HEX_KEY = 'ab'.repeat(32);

t.test('defaults serve a newcomer: sandbox on, its own page registered', async (t) => {
  const config = loadConfig({});
  t.equal(config.port, 3000);
  t.equal(config.publicUrl, 'http://localhost:3000');
  t.equal(config.callbackUrl, 'http://localhost:3000/login/callback');
  t.equal(config.sandbox, true);
  t.equal(config.twitter.apiUrl, 'http://localhost:3000/sandbox/twitter');
  t.equal(config.twitter.consumerKey, SANDBOX_CONSUMER_KEY);
  t.same(config.returnToUrls.map((uri) => uri.written), ['http://localhost:3000/']);
  t.same(config.corsOrigins, ['http://localhost:3000']);
  t.same(config.corsLoopbackHosts, ['localhost'], 'the page is on loopback: any port of it may call the API, as any may receive the sign-in');
  t.equal(config.accessTokenTtl, 900);
  t.equal(config.databaseUrl, undefined);
  t.equal(config.redisUrl, undefined);
  t.ok(Object.isFrozen(config) && Object.isFrozen(config.twitter), 'frozen');
});

t.test('PORT moves the default PUBLIC_URL; a given PUBLIC_URL loses its trailing slash', async (t) => {
  t.equal(loadConfig({ PORT: '8080' }).publicUrl, 'http://localhost:8080');
  const config = loadConfig({ PUBLIC_URL: 'http://auth.example.com/', RETURN_TO_URLS: 'https://app.example.com/cb' });
  t.equal(config.publicUrl, 'http://auth.example.com');
  t.same(config.returnToUrls.map((uri) => uri.written), ['https://app.example.com/cb', 'http://auth.example.com/'], 'the sandbox page is registered beside the app');
});

t.test('a configured Twitter app turns the sandbox off', async (t) => {
  const config = loadConfig({
    TWITTER_CONSUMER_KEY: 'key',
    TWITTER_CONSUMER_SECRET: 'secret',
    RETURN_TO_URLS: 'https://app.example.com/signed-in, https://other.example.com/?from=roost, https://app.example.com/signed-in, https://app.example.com/again',
    ACCESS_TOKEN_TTL: '600',
    JWT_AUDIENCE: 'my-api',
  });
  t.equal(config.sandbox, false);
  t.equal(config.twitter.apiUrl, 'https://api.x.com');
  t.same(config.returnToUrls.map((uri) => uri.written), ['https://app.example.com/signed-in', 'https://other.example.com/?from=roost', 'https://app.example.com/again'], 'as written, once each, no sandbox page');
  t.same(config.corsOrigins, ['https://app.example.com', 'https://other.example.com'], 'CORS follows their origins');
  t.equal(config.accessTokenTtl, 600);
  t.equal(config.jwtAudience, 'my-api');
  t.equal(loadConfig({ TWITTER_CONSUMER_KEY: 'k', TWITTER_CONSUMER_SECRET: 's', TWITTER_API_URL: 'http://127.0.0.1:9/', RETURN_TO_URLS: 'https://a.example/' }).twitter.apiUrl, 'http://127.0.0.1:9');
});

t.test('production refuses the sandbox and missing secrets', async (t) => {
  const problems = problemsOf({ NODE_ENV: 'production' });
  t.match(problems.join('\n'), /X keys are required when NODE_ENV=production \(the sandbox provider never runs in production\): set TWITTER_CLIENT_ID and TWITTER_CLIENT_SECRET \(OAuth 2.0\) or TWITTER_CONSUMER_KEY/);
  t.match(problems.join('\n'), /COOKIE_SECRET is required/);
  t.match(problems.join('\n'), /ENCRYPTION_KEY is required/);
  t.match(problems.join('\n'), /RETURN_TO_URLS must list at least one URL/);
  const ok = loadConfig({
    NODE_ENV: 'production',
    TWITTER_CONSUMER_KEY: 'k',
    TWITTER_CONSUMER_SECRET: 's',
    COOKIE_SECRET: 'c'.repeat(32),
    ENCRYPTION_KEY: HEX_KEY,
    RETURN_TO_URLS: 'https://app.example.com/signed-in',
  });
  t.equal(ok.production, true);
  t.equal(ok.encryptionKey?.length, 32);
});

t.test('every bad value is named, all at once', async (t) => {
  const problems = problemsOf({
    PORT: 'eighty',
    PUBLIC_URL: 'ftp://x',
    TWITTER_CONSUMER_SECRET: 'only-secret',
    DATABASE_URL: 'mysql://x',
    REDIS_URL: 'http://x',
    RETURN_TO_URLS: 'https://app.example.com/path#frag',
    CORS_ORIGINS: 'https://app.example.com/path',
    ACCESS_TOKEN_TTL: '-5',
    COOKIE_SECRET: 'short',
    ENCRYPTION_KEY: 'not-a-key',
    LOG_LEVEL: 'loud',
    MIGRATE_ON_START: 'maybe',
  });
  for (const name of ['PORT', 'PUBLIC_URL', 'TWITTER_CONSUMER_SECRET', 'DATABASE_URL', 'REDIS_URL', 'RETURN_TO_URLS', 'CORS_ORIGINS', 'ACCESS_TOKEN_TTL', 'COOKIE_SECRET', 'ENCRYPTION_KEY', 'LOG_LEVEL', 'MIGRATE_ON_START']) {
    t.ok(problems.some((p) => p.startsWith(name)), `names ${name}`);
  }
});

t.test('more refusals', async (t) => {
  t.match(problemsOf({ TWITTER_CONSUMER_KEY: 'k', RETURN_TO_URLS: 'https://a.example/' }).join(), /TWITTER_CONSUMER_SECRET is required/);
  t.match(problemsOf({ TWITTER_API_URL: 'http://x.example' }).join(), /TWITTER_API_URL needs X keys, TWITTER_CLIENT_ID and TWITTER_CLIENT_SECRET \(OAuth 2.0\) or TWITTER_CONSUMER_KEY and TWITTER_CONSUMER_SECRET \(OAuth 1.0a\)/);
  t.match(problemsOf({ PUBLIC_URL: 'https://user:pw@auth.example.com' }).join(), /PUBLIC_URL must not carry credentials/);
  t.same(problemsOf({ PUBLIC_URL: 'not a url' }), ['PUBLIC_URL must be an absolute http(s) URL (got "not a url")'], 'one problem, not echoed into RETURN_TO_URLS');
  t.match(problemsOf({ RETURN_TO_URLS: 'javascript:alert(1)' }).join(), /RETURN_TO_URLS entry "javascript:alert\(1\)" must be an absolute http or https URL/);
  t.match(problemsOf({ RETURN_TO_URLS: 'https://app.example/cb#x' }).join(), /RETURN_TO_URLS entry "https:\/\/app.example\/cb#x" must not contain a fragment/);
  t.match(problemsOf({ CORS_ORIGINS: 'ftp://x' }).join(), /CORS_ORIGINS must use http or https/);
  t.same(problemsOf({ CORS_ORIGINS: 'localhost:5180' }), ['CORS_ORIGINS must use http or https, written with its scheme such as http://localhost:5173 (got "localhost:5180")'], 'a forgotten scheme is named as such');
  t.match(problemsOf({ ACCESS_TOKEN_TTL: '1.5' }).join(), /ACCESS_TOKEN_TTL must be a whole number from 30 to 86400/);
  t.match(problemsOf({ ACCESS_TOKEN_TTL: '999999' }).join(), /ACCESS_TOKEN_TTL/);
});

t.test('production refuses a plain-http PUBLIC_URL, except on this machine', async (t) => {
  const base = { NODE_ENV: 'production', TWITTER_CONSUMER_KEY: 'k', TWITTER_CONSUMER_SECRET: 's', COOKIE_SECRET: 'c'.repeat(32), ENCRYPTION_KEY: HEX_KEY, RETURN_TO_URLS: 'https://app.example.com/cb' };
  t.same(problemsOf({ ...base, PUBLIC_URL: 'http://auth.example.com' }), [
    'PUBLIC_URL is http:// with NODE_ENV=production (http://auth.example.com): the flow cookie cannot be Secure and no HSTS is sent. Use https:// (roost behind a TLS-terminating proxy), or http://127.0.0.1 or localhost for a trial on this machine',
  ]);
  t.same(problemsOf({ ...base }), [], 'the default PUBLIC_URL is localhost: accepted');
  for (const ok of ['https://auth.example.com', 'http://127.0.0.1:8080', 'http://localhost:3000', 'http://[::1]:3000']) {
    t.same(problemsOf({ ...base, PUBLIC_URL: ok }), [], ok);
  }
  t.same(problemsOf({ PUBLIC_URL: 'http://auth.example.com', RETURN_TO_URLS: 'https://app.example.com/cb' }), [], 'outside production, plain http is allowed');
});

t.test('RETURN_TO_ORIGINS stops the start and says what to write instead', async (t) => {
  const problems = problemsOf({ TWITTER_CONSUMER_KEY: 'k', TWITTER_CONSUMER_SECRET: 's', RETURN_TO_ORIGINS: 'https://app.example.com, https://b.example/' });
  t.equal(problems.length, 1, 'one problem, not also a missing RETURN_TO_URLS');
  t.match(problems[0], /^RETURN_TO_ORIGINS is no longer supported: roost sends tokens only to registered redirect URIs\. Remove RETURN_TO_ORIGINS, and set RETURN_TO_URLS/);
  t.match(problems[0], /RETURN_TO_URLS=https:\/\/app\.example\.com\/<the page that receives the sign-in>,https:\/\/b\.example\/<the page that receives the sign-in>/);
  t.same(
    problemsOf({ RETURN_TO_ORIGINS: 'https://a.example', RETURN_TO_URLS: 'https://a.example/cb' }),
    ['RETURN_TO_ORIGINS is no longer supported: roost sends tokens only to registered redirect URIs. Remove RETURN_TO_ORIGINS (RETURN_TO_URLS is already set). The browser API\'s CORS origins follow RETURN_TO_URLS unless CORS_ORIGINS lists them'],
    'refused beside RETURN_TO_URLS too, without a template to copy',
  );
});

t.test('CORS_ORIGINS replaces the origins of RETURN_TO_URLS', async (t) => {
  const config = loadConfig({ RETURN_TO_URLS: 'https://app.example.com/cb', CORS_ORIGINS: 'https://spa.example.com, http://localhost:5173/' });
  t.same(config.corsOrigins, ['https://spa.example.com', 'http://localhost:5173']);
  t.same(config.corsLoopbackHosts, [], 'exactly what it lists');
  t.match(problemsOf({ CORS_ORIGINS: 'https://spa.example.com/path' }).join(), /CORS_ORIGINS entries must be bare origins/);
});

t.test('the sandbox never starts by accident', async (t) => {
  // The first command of the README: nothing set at all.
  t.equal(loadConfig({}).sandbox, true);
  t.equal(loadConfig({ NODE_ENV: 'development', PORT: '4000' }).sandbox, true);
  const refused = /No X keys are set, so roost would run its sandbox, which signs anyone in as a made-up user; it does not do that on its own when (PUBLIC_URL is https|DATABASE_URL is set)\. Set TWITTER_CLIENT_ID and TWITTER_CLIENT_SECRET \(OAuth 2.0\) or TWITTER_CONSUMER_KEY and TWITTER_CONSUMER_SECRET \(OAuth 1.0a\), or SANDBOX=true/;
  t.match(problemsOf({ PUBLIC_URL: 'https://auth.example.com' }).join(), refused, 'an https PUBLIC_URL is a real deployment');
  t.match(problemsOf({ DATABASE_URL: 'postgres://db/roost' }).join(), refused, 'so is a real database');
  t.match(problemsOf({ NODE_ENV: 'production', SANDBOX: 'true' }).join(), /the sandbox provider never runs in production/, 'SANDBOX=true does not beat production');
  // Asked for by name, it runs there.
  const asked = loadConfig({ SANDBOX: 'true', PUBLIC_URL: 'https://demo.example.com', DATABASE_URL: 'postgres://db/roost' });
  t.equal(asked.sandbox, true);
  t.equal(asked.twitter.apiUrl, 'https://demo.example.com/sandbox/twitter');
  t.match(problemsOf({ SANDBOX: 'true', TWITTER_CONSUMER_KEY: 'k', TWITTER_CONSUMER_SECRET: 's', RETURN_TO_URLS: 'https://a.example/' }).join(), /SANDBOX=true and TWITTER_CONSUMER_KEY are both set/);
  t.match(problemsOf({ SANDBOX: 'false' }).join(), /TWITTER_CLIENT_ID and TWITTER_CLIENT_SECRET \(OAuth 2.0\) or TWITTER_CONSUMER_KEY and TWITTER_CONSUMER_SECRET \(OAuth 1.0a\) are required when SANDBOX=false/);
  t.match(problemsOf({ SANDBOX: 'maybe' }).join(), /SANDBOX must be true or false/);
  t.equal(loadConfig({ SANDBOX: 'false', TWITTER_CONSUMER_KEY: 'k', TWITTER_CONSUMER_SECRET: 's', RETURN_TO_URLS: 'https://a.example/' }).sandbox, false);
});

t.test('ENCRYPTION_KEY accepts hex, base64 and base64url of 32 bytes', async (t) => {
  const bytes = Buffer.alloc(32, 0xfb);
  for (const written of [bytes.toString('hex'), bytes.toString('base64'), bytes.toString('base64url')]) {
    t.same(loadConfig({ ENCRYPTION_KEY: written }).encryptionKey, bytes, written);
  }
  t.match(problemsOf({ ENCRYPTION_KEY: Buffer.alloc(16).toString('hex') }).join(), /ENCRYPTION_KEY/);
});

t.test('booleans', async (t) => {
  t.equal(loadConfig({ MIGRATE_ON_START: 'false' }).migrateOnStart, false);
  t.equal(loadConfig({ MIGRATE_ON_START: 'TRUE' }).migrateOnStart, true);
  t.equal(loadConfig({}).migrateOnStart, true);
});

t.test('signing keys: JWT_ALG, KEY_ROTATION_INTERVAL and KEY_REFRESH_INTERVAL', async (t) => {
  const defaults = loadConfig({});
  t.equal(defaults.jwtAlg, 'ES256');
  t.equal(defaults.keyRotationInterval, 0, 'no automatic rotation unless asked');
  t.equal(defaults.keyRefreshInterval, 5);
  t.equal(defaults.jwksMaxAge, 300);
  for (const alg of ['ES256', 'EdDSA', 'RS256']) t.equal(loadConfig({ JWT_ALG: alg }).jwtAlg, alg);
  const chosen = loadConfig({ KEY_ROTATION_INTERVAL: '7776000', KEY_REFRESH_INTERVAL: '30', JWKS_MAX_AGE: '600' });
  t.same([chosen.keyRotationInterval, chosen.keyRefreshInterval, chosen.jwksMaxAge], [7776000, 30, 600]);
  t.equal(loadConfig({ KEY_ROTATION_INTERVAL: '0' }).keyRotationInterval, 0);

  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ JWT_ALG: 'HS256' }, /^JWT_ALG must be one of ES256, EdDSA, RS256 \(got "HS256"\)$/],
    [{ JWT_ALG: 'none' }, /^JWT_ALG must be one of/],
    [{ JWT_ALG: 'es256' }, /^JWT_ALG must be one of/],
    [{ KEY_REFRESH_INTERVAL: '0' }, /^KEY_REFRESH_INTERVAL must be a whole number from 1 to 300/],
    [{ KEY_REFRESH_INTERVAL: '5s' }, /^KEY_REFRESH_INTERVAL must be a whole number/],
    [{ KEY_ROTATION_INTERVAL: '-1' }, /^KEY_ROTATION_INTERVAL must be a whole number/],
    [{ KEY_ROTATION_INTERVAL: '90d' }, /^KEY_ROTATION_INTERVAL must be a whole number/],
    [{ KEY_ROTATION_INTERVAL: '3599' }, /^KEY_ROTATION_INTERVAL must be 0 \(off\) or at least 3600 seconds/],
    [{ KEY_ROTATION_INTERVAL: '4000', JWKS_MAX_AGE: '3600' }, /^KEY_ROTATION_INTERVAL must be 0 \(off\) or at least 7330 seconds: an hour, and twice the 3665 s/],
  ];
  for (const [env, problem] of cases) {
    const problems = problemsOf(env);
    t.equal(problems.length, 1, JSON.stringify(env));
    t.match(problems[0], problem);
  }
});

t.test('operations settings: shutdown bound, metrics token, Redis key prefix', async (t) => {
  const defaults = loadConfig({});
  t.equal(defaults.shutdownTimeoutMs, 10000);
  t.equal(defaults.metricsToken, undefined);
  t.equal(defaults.redisKeyPrefix, 'roost:');
  const set = loadConfig({ SHUTDOWN_TIMEOUT_MS: '25000', METRICS_TOKEN: 'a'.repeat(32), REDIS_KEY_PREFIX: 'auth:' });
  t.equal(set.shutdownTimeoutMs, 25000);
  t.equal(set.metricsToken, 'a'.repeat(32));
  t.equal(set.redisKeyPrefix, 'auth:');
  const problems = problemsOf({ SHUTDOWN_TIMEOUT_MS: '50', METRICS_TOKEN: 'short' }).join('\n');
  t.match(problems, /SHUTDOWN_TIMEOUT_MS must be a whole number from 100 to 600000/);
  t.match(problems, /METRICS_TOKEN must be at least 32 visible ASCII characters/);
  t.match(problemsOf({ METRICS_TOKEN: `${'a'.repeat(32)} b` }).join(), /METRICS_TOKEN/);
});

t.test('ENCRYPTION_KEYS_PREVIOUS lists earlier keys, each checked', async (t) => {
  const a = Buffer.alloc(32, 1);
  const b = Buffer.alloc(32, 2);
  t.same(loadConfig({}).encryptionKeysPrevious, []);
  t.same(loadConfig({ ENCRYPTION_KEYS_PREVIOUS: `${a.toString('hex')}, ${b.toString('base64url')}` }).encryptionKeysPrevious, [a, b]);
  t.match(problemsOf({ ENCRYPTION_KEYS_PREVIOUS: `${a.toString('hex')},nope` }).join(), /ENCRYPTION_KEYS_PREVIOUS entry 2 must be 32 bytes/);
  t.ok(Object.isFrozen(loadConfig({ ENCRYPTION_KEYS_PREVIOUS: a.toString('hex') }).encryptionKeysPrevious));
});

t.test('rate limits and TRUST_PROXY', async (t) => {
  const defaults = loadConfig({});
  t.equal(defaults.loginRateLimit, 60);
  t.equal(defaults.loginRateLimitWindow, 60);
  t.equal(defaults.trustProxy, false, 'X-Forwarded-For is not believed by default');
  t.equal(loadConfig({ LOGIN_RATE_LIMIT: '0' }).loginRateLimit, 0);
  t.match(problemsOf({ LOGIN_RATE_LIMIT: 'lots' }).join(), /LOGIN_RATE_LIMIT must be a whole number/);
  t.match(problemsOf({ LOGIN_RATE_LIMIT_WINDOW: '0' }).join(), /LOGIN_RATE_LIMIT_WINDOW must be a whole number from 1/);
  t.equal(defaults.tokenRateLimit, 120);
  t.equal(defaults.tokenRateLimitWindow, 60);
  t.equal(loadConfig({ TOKEN_RATE_LIMIT: '0' }).tokenRateLimit, 0);
  t.match(problemsOf({ TOKEN_RATE_LIMIT: '-1' }).join(), /TOKEN_RATE_LIMIT must be a whole number from 0 to 1000000/);
  t.match(problemsOf({ TOKEN_RATE_LIMIT_WINDOW: '0' }).join(), /TOKEN_RATE_LIMIT_WINDOW must be a whole number from 1 to 86400/);
  t.equal(loadConfig({ TRUST_PROXY: 'false' }).trustProxy, false);
  t.equal(loadConfig({ TRUST_PROXY: '2' }).trustProxy, 2);
  t.same(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1, ::1, loopback' }).trustProxy, ['10.0.0.0/8', '127.0.0.1', '::1', 'loopback']);
  t.match(problemsOf({ TRUST_PROXY: 'everyone' }).join(), /TRUST_PROXY must be false, a hop count/);
  for (const all of ['true', 'TRUE', 'yes']) {
    t.match(problemsOf({ TRUST_PROXY: all }).join(), /would believe whatever X-Forwarded-For a client sends: write the number of proxies in front of roost/, `TRUST_PROXY=${all} is refused`);
  }
  t.match(problemsOf({ TRUST_PROXY: '10.0.0.1, evil host' }).join(), /TRUST_PROXY/);
  // Each is refused at start with the variable named, not taken for an address nor left to fail later.
  for (const [raw, bad] of [['10.0.0.0/33', '10.0.0.0/33'], ['1.5', '1.5'], ['100', '100'], ['::1/129', '::1/129'], ['10.0.0.1/8/8', '10.0.0.1/8/8'], ['10.0.0.256', '10.0.0.256']] as const) {
    t.match(problemsOf({ TRUST_PROXY: raw }), [new RegExp(`^TRUST_PROXY must be false, a hop count from 1 to 99, .*not an address or range: ${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\)$`)], raw);
  }
  t.same(loadConfig({ TRUST_PROXY: '10.0.0.0/8, ::1/128, fd00::/8, linklocal' }).trustProxy, ['10.0.0.0/8', '::1/128', 'fd00::/8', 'linklocal']);
});

t.test('DATABASE_TIMEOUT_MS bounds every query', async (t) => {
  t.equal(loadConfig({}).databaseTimeoutMs, 5000);
  t.equal(loadConfig({ DATABASE_TIMEOUT_MS: '1500' }).databaseTimeoutMs, 1500);
  t.match(problemsOf({ DATABASE_TIMEOUT_MS: '10' }).join(), /DATABASE_TIMEOUT_MS must be a whole number from 100 to 60000/);
});
