// roost's configuration, read once from the environment: the server's
// defaults and refusals first, then each group of settings, NODE_ENV, and
// what the operator's commands read.
import t from 'tap';
import { loadConfig, loadKeysCommandConfig, loadMigrateConfig, loadSessionsCommandConfig, SANDBOX_AUTHORIZE_PATH, SANDBOX_CLIENT_ID, SANDBOX_CONSUMER_KEY } from '../src/config.js';
import { problemsOf, problemsOfLoading } from './helpers/config-problems.js';

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
  t.equal(loadConfig({}).databasePreparedStatements, true, 'hot statements are prepared unless told otherwise');
  t.equal(loadConfig({ DATABASE_PREPARED_STATEMENTS: 'false' }).databasePreparedStatements, false);
  t.match(problemsOf({ DATABASE_PREPARED_STATEMENTS: 'sometimes' }).join(), /DATABASE_PREPARED_STATEMENTS/);
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

t.test("the upstream: X's keys, the protocol and the sandbox", async (t) => {
  const APP = { RETURN_TO_URLS: 'https://app.example.com/cb' };
  const V1 = { TWITTER_CONSUMER_KEY: 'consumer-key', TWITTER_CONSUMER_SECRET: 'consumer-secret' };
  const V2 = { TWITTER_CLIENT_ID: 'client-id', TWITTER_CLIENT_SECRET: 'client-secret' };

  t.test('each pair of X keys selects its protocol', async (t) => {
    const oauth1 = loadConfig({ ...APP, ...V1 });
    t.equal(oauth1.twitter.protocol, 'oauth1');
    t.equal(oauth1.twitter.consumerKey, 'consumer-key');
    t.equal(oauth1.sandbox, false);
    const oauth2 = loadConfig({ ...APP, ...V2 });
    t.equal(oauth2.twitter.protocol, 'oauth2');
    t.equal(oauth2.twitter.clientId, 'client-id');
    t.equal(oauth2.twitter.clientSecret, 'client-secret');
    t.equal(oauth2.twitter.apiUrl, 'https://api.x.com');
    t.equal(oauth2.twitter.authorizeUrl, 'https://x.com/i/oauth2/authorize');
    t.equal(oauth2.sandbox, false);
  });

  t.test('both pairs need TWITTER_PROTOCOL to say which one signs in', async (t) => {
    t.match(problemsOf({ ...APP, ...V1, ...V2 }).join('\n'), /TWITTER_CLIENT_ID and TWITTER_CONSUMER_KEY are both set: set TWITTER_PROTOCOL=oauth2 or TWITTER_PROTOCOL=oauth1/);
    t.equal(loadConfig({ ...APP, ...V1, ...V2, TWITTER_PROTOCOL: 'oauth2' }).twitter.protocol, 'oauth2');
    t.equal(loadConfig({ ...APP, ...V1, ...V2, TWITTER_PROTOCOL: 'oauth1' }).twitter.protocol, 'oauth1');
    t.match(problemsOf({ ...APP, ...V1, ...V2, TWITTER_PROTOCOL: 'OAuth2' }).join('\n'), /TWITTER_PROTOCOL must be oauth2 or oauth1 \(got "OAuth2"\)/);
  });

  t.test('TWITTER_PROTOCOL cannot pick a protocol whose keys are missing', async (t) => {
    t.match(problemsOf({ ...APP, ...V1, TWITTER_PROTOCOL: 'oauth2' }).join('\n'), /TWITTER_PROTOCOL=oauth2 needs TWITTER_CLIENT_ID and TWITTER_CLIENT_SECRET/);
    t.match(problemsOf({ ...APP, ...V2, TWITTER_PROTOCOL: 'oauth1' }).join('\n'), /TWITTER_PROTOCOL=oauth1 needs TWITTER_CONSUMER_KEY and TWITTER_CONSUMER_SECRET/);
  });

  t.test('a half pair is refused, naming the missing half', async (t) => {
    t.match(problemsOf({ ...APP, TWITTER_CLIENT_ID: 'id' }).join('\n'), /TWITTER_CLIENT_SECRET is required when TWITTER_CLIENT_ID is set/);
    t.match(problemsOf({ ...APP, TWITTER_CLIENT_SECRET: 's' }).join('\n'), /TWITTER_CLIENT_SECRET is set but TWITTER_CLIENT_ID is not/);
    t.match(problemsOf({ ...APP, TWITTER_CONSUMER_KEY: 'k' }).join('\n'), /TWITTER_CONSUMER_SECRET is required when TWITTER_CONSUMER_KEY is set/);
  });

  t.test('the sandbox speaks OAuth 1.0a unless TWITTER_PROTOCOL=oauth2 asks', async (t) => {
    const plain = loadConfig({});
    t.equal(plain.sandbox, true);
    t.equal(plain.twitter.protocol, 'oauth1');
    t.equal(plain.twitter.consumerKey, SANDBOX_CONSUMER_KEY);
    const oauth2 = loadConfig({ TWITTER_PROTOCOL: 'oauth2' });
    t.equal(oauth2.sandbox, true);
    t.equal(oauth2.twitter.protocol, 'oauth2');
    t.equal(oauth2.twitter.clientId, SANDBOX_CLIENT_ID);
    t.equal(oauth2.twitter.authorizeUrl, 'http://localhost:3000/sandbox/twitter/i/oauth2/authorize');
    t.equal(oauth2.twitter.apiUrl, 'http://localhost:3000/sandbox/twitter');
    t.match(problemsOf({ TWITTER_AUTHORIZE_URL: 'https://x.example/authorize' }).join('\n'), /TWITTER_AUTHORIZE_URL needs X keys/);
    t.match(problemsOf({ SANDBOX: 'true', ...V2 }).join('\n'), /SANDBOX=true and TWITTER_CLIENT_ID are both set/);
  });

  t.test('TWITTER_AUTHORIZE_URL is taken with OAuth 2.0 keys and refused without them', async (t) => {
    const config = loadConfig({ ...APP, ...V2, TWITTER_AUTHORIZE_URL: 'http://127.0.0.1:9/i/oauth2/authorize/' });
    t.equal(config.twitter.authorizeUrl, 'http://127.0.0.1:9/i/oauth2/authorize');
    t.match(problemsOf({ ...APP, ...V1, TWITTER_AUTHORIZE_URL: 'https://x.example/a' }).join('\n'), /TWITTER_AUTHORIZE_URL is used only by OAuth 2.0/);
    t.match(problemsOf({ ...APP, ...V2, TWITTER_AUTHORIZE_URL: 'not a url' }).join('\n'), /TWITTER_AUTHORIZE_URL/);
  });

  t.test('TWITTER_EMAIL is off, optional or required; optional by default', async (t) => {
    t.equal(loadConfig({}).twitter.email, 'optional');
    for (const mode of ['off', 'optional', 'required'] as const) t.equal(loadConfig({ TWITTER_EMAIL: mode }).twitter.email, mode);
    t.match(problemsOf({ TWITTER_EMAIL: 'yes' }).join('\n'), /TWITTER_EMAIL must be one of off, optional, required \(got "yes"\)/);
  });

  t.test("the sandbox's authorize page is where the configuration sends browsers", async (t) => {
    const { OAUTH2_PATHS } = await import('../src/sandbox/provider.js');
    t.equal(SANDBOX_AUTHORIZE_PATH, OAUTH2_PATHS.authorize);
  });
});

t.test('sessions', async (t) => {
  t.test('session defaults', async (t) => {
    const config = loadConfig({});
    t.equal(config.sessionTtl, 30 * 86400);
    t.equal(config.sessionIdleTtl, 7 * 86400);
    t.equal(config.refreshReuseGrace, 10);
  });

  t.test('a short SESSION_TTL shortens the idle default with it', async (t) => {
    const config = loadConfig({ SESSION_TTL: '3600' });
    t.equal(config.sessionTtl, 3600);
    t.equal(config.sessionIdleTtl, 3600);
  });

  t.test('bad session settings are named', async (t) => {
    t.match(problemsOf({ SESSION_TTL: '10' }), [/^SESSION_TTL must be a whole number from 300/]);
    t.match(problemsOf({ SESSION_IDLE_TTL: 'soon' }), [/^SESSION_IDLE_TTL must be a whole number/]);
    t.match(problemsOf({ REFRESH_REUSE_GRACE: '61' }), [/^REFRESH_REUSE_GRACE must be a whole number from 0 to 60/]);
    t.match(problemsOf({ SESSION_TTL: '3600', SESSION_IDLE_TTL: '7200' }), [/^SESSION_IDLE_TTL \(7200\) must not exceed SESSION_TTL \(3600\)/]);
    t.same(problemsOf({ SESSION_TTL: '3600', SESSION_IDLE_TTL: '600', REFRESH_REUSE_GRACE: '0' }), []);
  });

  t.test('session retention and purge interval', async (t) => {
    const defaults = loadConfig({});
    t.equal(defaults.sessionRetention, 7 * 86400);
    t.equal(defaults.sessionPurgeInterval, 3600);
    t.equal(loadConfig({ SESSION_RETENTION: '0' }).sessionRetention, 0, 'purge as soon as ended');
    t.equal(loadConfig({ SESSION_PURGE_INTERVAL: '0' }).sessionPurgeInterval, 0, 'no periodic purge');
    t.equal(loadConfig({ SESSION_PURGE_INTERVAL: '60' }).sessionPurgeInterval, 60);
    t.match(problemsOf({ SESSION_RETENTION: '-1' }), [/^SESSION_RETENTION must be a whole number from 0 to 31622400/]);
    t.match(problemsOf({ SESSION_RETENTION: '31622401' }), [/^SESSION_RETENTION must be a whole number from 0 to 31622400/]);
    t.match(problemsOf({ SESSION_PURGE_INTERVAL: '59' }), [/^SESSION_PURGE_INTERVAL must be 0 \(off\) or from 60 to 86400 seconds \(got "59"\)/]);
    t.match(problemsOf({ SESSION_PURGE_INTERVAL: '86401' }), [/^SESSION_PURGE_INTERVAL must be a whole number from 0 to 86400/]);
    t.match(problemsOf({ SESSION_PURGE_INTERVAL: 'hourly' }), [/^SESSION_PURGE_INTERVAL must be a whole number/]);
  });
});

t.test('operators: admin keys, webhooks and the sign-in hook', async (t) => {
  const SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
  const KEY = 'k'.repeat(40);

  t.test('off by default: no admin keys, no webhook, no hook; audit events kept 90 days', async (t) => {
    const config = loadConfig({});
    t.same(config.admin.keys, []);
    t.equal(config.auditRetention, 90 * 86400);
    t.equal(config.webhook, undefined);
    t.equal(config.signInHook, undefined);
  });

  t.test('ADMIN_API_KEYS: each key at least 32 visible characters, never repeated in a message', async (t) => {
    t.same(loadConfig({ ADMIN_API_KEYS: `${KEY}, ${'m'.repeat(32)}` }).admin.keys, [KEY, 'm'.repeat(32)]);
    const problems = problemsOf({ ADMIN_API_KEYS: `${KEY},short-key-here` }).join('\n');
    t.match(problems, /ADMIN_API_KEYS: key 2 must be at least 32 visible ASCII characters/);
    t.notMatch(problems, /short-key-here/, 'the key itself is not printed');
  });

  t.test('WEBHOOK_URL needs a whsec_ WEBHOOK_SECRET', async (t) => {
    const config = loadConfig({ WEBHOOK_URL: 'http://127.0.0.1:9/hooks', WEBHOOK_SECRET: SECRET });
    t.equal(config.webhook?.url, 'http://127.0.0.1:9/hooks');
    t.same(config.webhook?.key, Buffer.alloc(32, 7));
    t.equal(config.webhook?.maxAge, 86400);
    t.match(problemsOf({ WEBHOOK_URL: 'http://127.0.0.1:9/hooks' }).join('\n'), /WEBHOOK_SECRET is required with WEBHOOK_URL/);
    const bad = problemsOf({ WEBHOOK_URL: 'http://127.0.0.1:9/hooks', WEBHOOK_SECRET: 'plain-secret-value' }).join('\n');
    t.match(bad, /WEBHOOK_SECRET must start with whsec_/);
    t.notMatch(bad, /plain-secret-value/);
    t.match(problemsOf({ WEBHOOK_URL: 'not a url', WEBHOOK_SECRET: SECRET }).join('\n'), /WEBHOOK_URL/);
    t.match(problemsOf({ WEBHOOK_URL: 'http://x.example/', WEBHOOK_SECRET: SECRET, WEBHOOK_MAX_AGE: '5' }).join('\n'), /WEBHOOK_MAX_AGE/);
  });

  t.test('SIGN_IN_HOOK_URL: its own secret or the webhook one; a timeout; fail closed by default', async (t) => {
    const own = loadConfig({ SIGN_IN_HOOK_URL: 'http://127.0.0.1:9/hook', SIGN_IN_HOOK_SECRET: SECRET });
    t.match(own.signInHook, { url: 'http://127.0.0.1:9/hook', timeoutMs: 2000, failOpen: false });
    const shared = loadConfig({ SIGN_IN_HOOK_URL: 'http://127.0.0.1:9/hook', WEBHOOK_URL: 'http://127.0.0.1:9/w', WEBHOOK_SECRET: SECRET, SIGN_IN_HOOK_FAIL_OPEN: 'true', SIGN_IN_HOOK_TIMEOUT_MS: '500' });
    t.match(shared.signInHook, { timeoutMs: 500, failOpen: true });
    t.same(shared.signInHook?.key, Buffer.alloc(32, 7), 'WEBHOOK_SECRET signs the hook too');
    t.match(problemsOf({ SIGN_IN_HOOK_URL: 'http://127.0.0.1:9/hook' }).join('\n'), /SIGN_IN_HOOK_SECRET \(or WEBHOOK_SECRET\) is required/);
    t.match(problemsOf({ SIGN_IN_HOOK_URL: 'http://127.0.0.1:9/hook', SIGN_IN_HOOK_SECRET: SECRET, SIGN_IN_HOOK_FAIL_OPEN: 'maybe' }).join('\n'), /SIGN_IN_HOOK_FAIL_OPEN/);
  });

  t.test('in production the webhook and the hook are https', async (t) => {
    const production = { NODE_ENV: 'production', TWITTER_CLIENT_ID: 'i', TWITTER_CLIENT_SECRET: 's', COOKIE_SECRET: 'c'.repeat(32), ENCRYPTION_KEY: 'ab'.repeat(32), RETURN_TO_URLS: 'https://app.example.com/cb', PUBLIC_URL: 'https://auth.example.com' };
    t.match(problemsOf({ ...production, WEBHOOK_URL: 'http://hooks.example.com/', WEBHOOK_SECRET: SECRET }).join('\n'), /WEBHOOK_URL must be https:\/\/ with NODE_ENV=production/);
    t.same(problemsOf({ ...production, WEBHOOK_URL: 'https://hooks.example.com/', WEBHOOK_SECRET: SECRET }), []);
  });
});

// NODE_ENV means production only when it is exactly `production`. A value
// that only looks like it (another case, `prod`, spaces around it) stops the
// start rather than quietly turning production's requirements off. Any other
// value (development, test, staging) is read as unset: nothing production
// requires is asked for (the Twitter app, COOKIE_SECRET, ENCRYPTION_KEY), the
// sandbox may run, and the config is the one an unset NODE_ENV gives, field
// for field.
t.test('NODE_ENV', async (t) => {
  const NOT_PRODUCTION = ['', 'development', 'test', 'staging', 'producer', 'preproduction'];
  const ALMOST_PRODUCTION = ['Production', 'PRODUCTION', 'prod', 'Prod', ' production', 'production '];

  t.test('production asks for the Twitter app and both secrets', async (t) => {
    const problems = problemsOfLoading(() => loadConfig({ NODE_ENV: 'production' })).join('\n');
    t.match(problems, /X keys are required when NODE_ENV=production \(the sandbox provider never runs in production\): set TWITTER_CLIENT_ID and TWITTER_CLIENT_SECRET \(OAuth 2.0\) or TWITTER_CONSUMER_KEY/);
    t.match(problems, /COOKIE_SECRET is required when NODE_ENV=production/);
    t.match(problems, /ENCRYPTION_KEY is required when NODE_ENV=production/);
    t.match(problemsOfLoading(() => loadKeysCommandConfig({ NODE_ENV: 'production' })).join('\n'), /ENCRYPTION_KEY is required when NODE_ENV=production/, 'npm run keys too');
  });

  t.test('a NODE_ENV that looks like production but is not exactly it stops the start', async (t) => {
    const secrets = { COOKIE_SECRET: 'c'.repeat(32), ENCRYPTION_KEY: 'ab'.repeat(32) };
    for (const nodeEnv of ALMOST_PRODUCTION) {
      const expected = `NODE_ENV=${JSON.stringify(nodeEnv)} is not production: write NODE_ENV=production exactly, or another value such as development`;
      t.same(problemsOfLoading(() => loadConfig({ NODE_ENV: nodeEnv, ...secrets })), [expected], `server: ${JSON.stringify(nodeEnv)}`);
      t.same(problemsOfLoading(() => loadKeysCommandConfig({ NODE_ENV: nodeEnv })), [expected], `npm run keys: ${JSON.stringify(nodeEnv)}`);
    }
  });

  t.test('every other NODE_ENV asks for none of it', async (t) => {
    for (const nodeEnv of NOT_PRODUCTION) {
      const name = `NODE_ENV=${JSON.stringify(nodeEnv)}`;
      t.same(problemsOfLoading(() => loadConfig({ NODE_ENV: nodeEnv })), [], `${name}: no Twitter app, no secrets, no return_to list needed`);
      t.same(problemsOfLoading(() => loadKeysCommandConfig({ NODE_ENV: nodeEnv })), [], `${name}: npm run keys needs no ENCRYPTION_KEY`);
    }
  });

  t.test('every other NODE_ENV gives the config an unset NODE_ENV gives', async (t) => {
    const unset = loadConfig({});
    t.equal(unset.production, false);
    t.equal(unset.sandbox, true, 'the sandbox runs');
    t.equal(unset.cookieSecret, undefined, 'the server generates its secrets into DATA_DIR');
    t.equal(unset.encryptionKey, undefined);
    for (const nodeEnv of NOT_PRODUCTION) {
      const config = loadConfig({ NODE_ENV: nodeEnv });
      t.equal(config.production, false, `NODE_ENV=${JSON.stringify(nodeEnv)} is not production`);
      t.same(config, unset, `NODE_ENV=${JSON.stringify(nodeEnv)}: the same config, field for field`);
    }
    const secrets = { COOKIE_SECRET: 'c'.repeat(32), ENCRYPTION_KEY: 'ab'.repeat(32) };
    for (const nodeEnv of NOT_PRODUCTION) {
      t.same(loadConfig({ NODE_ENV: nodeEnv, ...secrets }), loadConfig(secrets), `NODE_ENV=${JSON.stringify(nodeEnv)} with the secrets given`);
    }
  });
});

// The operator's commands read only the variables they use: a production
// migrate, keys or sessions run needs neither the Twitter app, nor
// COOKIE_SECRET, nor RETURN_TO_URLS, and a bad value of a variable a
// command does not use does not stop it.
t.test('the commands', async (t) => {
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
});
