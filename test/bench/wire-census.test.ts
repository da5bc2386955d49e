// The benchmark's census counts what really crosses the wire: round trips
// of pg to the real Postgres and commands of ioredis to the real Redis,
// through its proxies, however the bytes are cut into chunks.
import pg from 'pg';
import { Redis } from 'ioredis';
import t from 'tap';
import { postgresMessages, redisCommands, startCountingProxy } from '../../bench/wire-census.js';

const DATABASE_URL = new URL(process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test');
const REDIS_URL = new URL(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');

t.test('Postgres: one round trip per query, parameters or not, and one per BEGIN and COMMIT', async (t) => {
  const proxy = await startCountingProxy({ host: DATABASE_URL.hostname, port: Number(DATABASE_URL.port || 5432) }, 'postgres');
  t.teardown(() => proxy.close());
  const client = new pg.Client({ connectionString: Object.assign(new URL(DATABASE_URL.href), { hostname: '127.0.0.1', port: String(proxy.port) }).href });
  await client.connect();
  t.teardown(() => client.end());
  const start = proxy.count();
  await client.query('select 1');
  await client.query('select $1::int + $2::int as n', [1, 2]);
  t.equal(proxy.count() - start, 2);
  await client.query('begin');
  await client.query('select $1::text', ['x'.repeat(100_000)]);
  await client.query('commit');
  t.equal(proxy.count() - start, 5, 'a long parameter spans many chunks and is still one round trip');
});

t.test('Redis: one per command, pipelined or not, and a script call is one', async (t) => {
  const proxy = await startCountingProxy({ host: REDIS_URL.hostname, port: Number(REDIS_URL.port || 6379) }, 'redis');
  t.teardown(() => proxy.close());
  const redis = new Redis({ host: '127.0.0.1', port: proxy.port, keyPrefix: `roost-test-census-${process.pid}:`, lazyConnect: true });
  await redis.connect();
  t.teardown(async () => void (await redis.quit()));
  const start = proxy.count();
  await redis.set('a', 'x'.repeat(200_000), 'EX', 10);
  await redis.pipeline().get('a').getdel('a').exec();
  t.equal(proxy.count() - start, 3);
  redis.defineCommand('twice', { numberOfKeys: 1, lua: "redis.call('SET', KEYS[1], ARGV[1], 'EX', 10) return redis.call('GET', KEYS[1])" });
  await (redis as unknown as { twice(key: string, value: string): Promise<string> }).twice('b', 'y');
  t.ok(proxy.count() - start >= 4, 'the script is sent as one command (EVALSHA, and EVAL once if the script is new)');
  t.ok(proxy.count() - start <= 5);
});

t.test('the readers count complete messages only, fed a byte at a time', async (t) => {
  const startup = Buffer.alloc(8);
  startup.writeInt32BE(8, 0);
  startup.writeInt32BE(196608, 4);
  const message = (type: string, body: string) => {
    const head = Buffer.alloc(5);
    head.write(type, 0, 'latin1');
    head.writeInt32BE(4 + Buffer.byteLength(body), 1);
    return Buffer.concat([head, Buffer.from(body)]);
  };
  const stream = Buffer.concat([startup, message('P', 'parse'), message('B', 'bind'), message('E', 'exec'), message('S', ''), message('Q', 'select 1\0')]);
  const postgres = postgresMessages();
  let trips = 0;
  for (const byte of stream) trips += postgres(Buffer.from([byte]));
  t.equal(trips, 2, 'a Sync and a Query');

  const redis = redisCommands();
  const commands = Buffer.from('*3\r\n$3\r\nSET\r\n$1\r\na\r\n$4\r\nb\r\nc\r\n*1\r\n$4\r\nPING\r\nPING\r\n');
  let seen = 0;
  for (const byte of commands) seen += redis(Buffer.from([byte]));
  t.equal(seen, 3, 'a value holding CRLF is read by its length; an inline command by its line');
  t.equal(redisCommands()(Buffer.from('*2\r\n$3\r\nGET\r\n$1\r\n')), 0, 'an incomplete command is not counted');
});
