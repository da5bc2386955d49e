// Entry of the helper processes the benchmark starts, each in its own
// process so its CPU time is its own: `serve.ts provider|node-http|fastify|floor|peer`.
// Listens on a free loopback port and sends { url } to the parent over IPC.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createFastifyCeiling, createNodeHttpCeiling, type CeilingBody } from './ceilings.js';
import { createFloor } from './floor.js';
import { createLoadProvider } from './load-provider.js';
import { createPeer } from './peer.js';

const role = process.argv[2];
const host = '127.0.0.1';
const tell = (port: number) => process.send?.({ url: `http://${host}:${port}` });

const ceiling = (): CeilingBody => JSON.parse(process.env.BENCH_CEILING_BODY ?? '{}') as CeilingBody;

if (role === 'provider') {
  const server = createLoadProvider({
    consumerKey: process.env.BENCH_CONSUMER_KEY ?? '',
    consumerSecret: process.env.BENCH_CONSUMER_SECRET ?? '',
    latencyMs: Number(process.env.BENCH_LATENCY_MS ?? 0),
    users: Number(process.env.BENCH_USERS ?? 10_000),
  });
  server.listen(0, host, () => tell((server.address() as AddressInfo).port));
} else if (role === 'node-http') {
  const server = createNodeHttpCeiling(ceiling());
  server.listen(0, host, () => tell((server.address() as AddressInfo).port));
} else if (role === 'fastify') {
  const app = createFastifyCeiling(ceiling());
  await app.listen({ host, port: 0 });
  tell((app.server.address() as AddressInfo).port);
} else if (role === 'floor') {
  const floor = await createFloor({
    databaseUrl: process.env.BENCH_DATABASE_URL ?? '',
    redisUrl: process.env.BENCH_REDIS_URL ?? '',
    providerUrl: process.env.BENCH_PROVIDER_URL ?? '',
    consumerKey: process.env.BENCH_CONSUMER_KEY ?? '',
    consumerSecret: process.env.BENCH_CONSUMER_SECRET ?? '',
    returnTo: process.env.BENCH_RETURN_TO ?? '',
    poolSize: Number(process.env.BENCH_POOL_SIZE ?? 10),
  });
  floor.server.listen(0, host, () => {
    const { port } = floor.server.address() as AddressInfo;
    floor.setPublicUrl(`http://${host}:${port}`);
    tell(port);
  });
} else if (role === 'peer') {
  // Its callback URL and issuer name the port, so it listens first and takes requests once built.
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  const peer = await createPeer({
    databaseUrl: process.env.BENCH_DATABASE_URL ?? '',
    redisUrl: process.env.BENCH_REDIS_URL ?? '',
    providerUrl: process.env.BENCH_PROVIDER_URL ?? '',
    consumerKey: process.env.BENCH_CONSUMER_KEY ?? '',
    consumerSecret: process.env.BENCH_CONSUMER_SECRET ?? '',
    publicUrl: `http://${host}:${port}`,
    returnTo: process.env.BENCH_RETURN_TO ?? '',
    poolSize: Number(process.env.BENCH_POOL_SIZE ?? 10),
  });
  server.on('request', peer.app);
  tell(port);
} else {
  process.stderr.write(`serve.ts: unknown role ${String(role)}\n`);
  process.exit(2);
}

// The parent going away (even killed) ends this process too.
process.on('disconnect', () => process.exit(0));
