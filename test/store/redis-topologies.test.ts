// REDIS_URL's Sentinel and Cluster forms against real deployments: this test
// starts its own redis-server processes (a master and a Sentinel; a
// three-node Cluster) on free ports, and runs the flow store and a whole
// sign-in through them.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import t from 'tap';
import { createRedisStore } from '../../src/sign-in/flow-store.js';
import { Browser, fragmentOf } from '../helpers/browser.js';
import { signIn } from '../helpers/flow.js';
import { freePort, startRoost } from '../helpers/roost.js';

const run = promisify(execFile);
const dir = mkdtempSync(path.join(tmpdir(), 'roost-redis-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

async function redisServer(args: string[]): Promise<void> {
  const child = spawn('redis-server', [...args, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const cli = async (port: number, ...args: string[]) => (await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args])).stdout;
const noop = () => {};

t.test('redis+sentinel://: the store finds the master through the Sentinel', async (t) => {
  const master = await freePort();
  const sentinel = await freePort();
  await redisServer(['--port', String(master)]);
  const conf = path.join(dir, 'sentinel.conf');
  writeFileSync(conf, `port ${sentinel}\nbind 127.0.0.1\nsentinel monitor mymaster 127.0.0.1 ${master} 1\n`);
  await redisServer([conf, '--sentinel']);
  await until(async () => (await cli(master, 'ping')).trim() === 'PONG', 'the master');
  await until(async () => (await cli(sentinel, 'sentinel', 'get-master-addr-by-name', 'mymaster')).includes(String(master)), 'the Sentinel');

  const store = await createRedisStore({ url: `redis+sentinel://127.0.0.1:${sentinel}/mymaster`, keyPrefix: 'roost-s:', onError: noop });
  t.teardown(() => store.close());
  await store.ping();
  await store.put('flow:a', 'value-a', 60);
  const direct = new Redis({ host: '127.0.0.1', port: master, lazyConnect: true });
  await direct.connect();
  t.teardown(() => direct.disconnect());
  t.equal(await direct.get('roost-s:flow:a'), 'value-a', 'the value is on the master, under the prefix');
  t.equal(await store.take('flow:a'), 'value-a');
  t.equal(await store.take('flow:a'), null, 'taken once');

  const started = performance.now();
  await t.rejects(createRedisStore({ url: `redis+sentinel://127.0.0.1:${sentinel}/no-such-master`, keyPrefix: 'x:', onError: noop }), /could not connect to Redis \(REDIS_URL\)/);
  t.ok(performance.now() - started < 10_000, 'an unknown master name fails the start instead of hanging');
});

t.test('redis+cluster://: the store and a whole sign-in run on a three-node Cluster', async (t) => {
  const ports: number[] = [];
  for (let node = 0; node < 3; node++) {
    const port = await freePort();
    const bus = await freePort();
    ports.push(port);
    await redisServer(['--port', String(port), '--cluster-enabled', 'yes', '--cluster-port', String(bus), '--cluster-config-file', path.join(dir, `nodes-${port}.conf`)]);
  }
  for (const port of ports) await until(async () => (await cli(port, 'ping')).trim() === 'PONG', `node ${port}`);
  await run('redis-cli', ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '0', '--cluster-yes']);
  await until(async () => {
    for (const port of ports) if (!(await cli(port, 'cluster', 'info')).includes('cluster_state:ok')) return false;
    return true;
  }, 'the Cluster to agree');

  // Two of the three nodes as seeds: the client discovers the third.
  const url = `redis+cluster://127.0.0.1:${ports[0]},127.0.0.1:${ports[1]}`;
  const store = await createRedisStore({ url, keyPrefix: 'roost-c:', onError: noop });
  t.teardown(() => store.close());
  await store.ping();
  for (let i = 0; i < 30; i++) await store.put(`flow:${i}`, `value-${i}`, 60);
  const sizes = await Promise.all(ports.map(async (port) => Number((await cli(port, 'dbsize')).trim())));
  t.equal(sizes.reduce((a, b) => a + b, 0), 30);
  t.ok(sizes.filter((size) => size > 0).length >= 2, `keys spread over the nodes (${sizes.join(', ')})`);
  for (let i = 0; i < 30; i++) t.equal(await store.take(`flow:${i}`), `value-${i}`);
  t.equal(await store.take('flow:0'), null, 'taken once');

  const roost = await startRoost(t, { env: { REDIS_URL: url } });
  const done = await signIn(new Browser(), roost);
  t.equal(done.status, 302);
  t.ok(fragmentOf(done.location).get('access_token'), 'a sign-in completes with its flow kept in the Cluster');
  const ready = await fetch(`${roost.url}/readyz`);
  t.equal(ready.status, 200);
  t.match(await ready.json(), { checks: { redis: 'ok' } });
});
