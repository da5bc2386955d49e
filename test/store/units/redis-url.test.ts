import t from 'tap';
import { ConfigError, loadConfig } from '../../../src/config.js';
import { parseRedisUrl } from '../../../src/store/redis-url.js';

t.test('the forms REDIS_URL accepts', async (t) => {
  const cases: Array<[string, unknown]> = [
    ['redis://localhost:6379', { kind: 'standalone', url: 'redis://localhost:6379' }],
    ['rediss://:pw@cache.example.com:6380/2', { kind: 'standalone', url: 'rediss://:pw@cache.example.com:6380/2' }],
    ['redis+sentinel://s1:26379,s2:26380,s3/mymaster', {
      kind: 'sentinel',
      sentinels: [{ host: 's1', port: 26379 }, { host: 's2', port: 26380 }, { host: 's3', port: 26379 }],
      name: 'mymaster',
      db: 0,
    }],
    ['redis+sentinel://:p%40ss@10.0.0.1/main/3', { kind: 'sentinel', sentinels: [{ host: '10.0.0.1', port: 26379 }], name: 'main', db: 3, password: 'p@ss' }],
    ['redis+sentinel://roost:secret@[::1]:26379/mymaster', { kind: 'sentinel', sentinels: [{ host: '::1', port: 26379 }], name: 'mymaster', db: 0, username: 'roost', password: 'secret' }],
    ['redis+cluster://n1:7000, n2:7001 ,n3', { kind: 'cluster', nodes: [{ host: 'n1', port: 7000 }, { host: 'n2', port: 7001 }, { host: 'n3', port: 6379 }] }],
    ['redis+cluster://:pw@n1:7000/', { kind: 'cluster', nodes: [{ host: 'n1', port: 7000 }], password: 'pw' }],
  ];
  for (const [raw, expected] of cases) {
    const parsed = parseRedisUrl(raw);
    t.ok(parsed.ok, raw);
    if (parsed.ok) t.same(parsed.value, expected, raw);
  }
});

t.test('what it refuses, and why', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['http://localhost:6379', /must be a redis:\/\/, rediss:\/\/, redis\+sentinel:\/\/ or redis\+cluster:\/\/ URL/],
    ['redis://', /must be a/],
    ['rediss+sentinel://s1/mymaster', /TLS is supported only for a single server/],
    ['rediss+cluster://n1', /TLS is supported only for a single server/],
    ['redis+sentinel://s1:26379', /must name the master/],
    ['redis+sentinel://s1:26379/', /must name the master/],
    ['redis+sentinel://s1/mymaster/db1', /master-name\/db/],
    ['redis+sentinel://s1/mymaster/1/2', /master-name\/db/],
    ['redis+sentinel://s1/mymaster?db=1', /no query or fragment/],
    ['redis+sentinel://s1:0/mymaster', /bad host "s1:0"/],
    ['redis+sentinel://s1:99999/mymaster', /bad host/],
    ['redis+sentinel://s1,,s2/mymaster', /bad host ""/],
    ['redis+sentinel://s 1/mymaster', /bad host/],
    ['redis+cluster://n1:7000/0', /takes no path/],
    ['redis+cluster://', /bad host ""/],
    ['redis+cluster://:%zz@n1', /badly percent-encoded/],
  ];
  for (const [raw, reason] of cases) {
    const parsed = parseRedisUrl(raw);
    t.notOk(parsed.ok, raw);
    if (!parsed.ok) t.match(parsed.reason, reason, raw);
  }
});

t.test('loadConfig names REDIS_URL and REDIS_KEY_PREFIX problems', async (t) => {
  const problems = (env: Record<string, string>) => {
    try {
      loadConfig(env);
      return [];
    } catch (error) {
      return error instanceof ConfigError ? [...error.problems] : [];
    }
  };
  t.match(problems({ REDIS_URL: 'redis+sentinel://s1' }), [/^REDIS_URL of a sentinel deployment must name the master/]);
  t.match(problems({ REDIS_KEY_PREFIX: 'has space' }), [/^REDIS_KEY_PREFIX must be 1 to 64 visible ASCII characters/]);
  t.match(problems({ REDIS_KEY_PREFIX: 'x'.repeat(65) }), [/^REDIS_KEY_PREFIX/]);
  t.equal(loadConfig({ REDIS_URL: 'redis+cluster://n1:7000,n2:7001' }).redisUrl, 'redis+cluster://n1:7000,n2:7001');
  t.equal(loadConfig({}).redisKeyPrefix, 'roost:');
  t.equal(loadConfig({ REDIS_KEY_PREFIX: 'auth-eu:' }).redisKeyPrefix, 'auth-eu:');
});
