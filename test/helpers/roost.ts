// Starts a real roost over real HTTP for a test: its own Postgres schema,
// its own Redis key prefix, and a sandbox Twitter provider on its own port.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import type { Test } from 'tap';
import { buildApp } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createDeps, type Deps } from '../../src/deps.js';
import { createLogger } from '../../src/ops/logger.js';
import { startSandboxServer } from '../../src/sandbox/provider.js';
import { watchResponses } from './contract.js';
import { createDefaultSandboxUsers, type SandboxUser } from '../../src/sandbox/users.js';
import type { UpstreamProtocol } from '../../src/twitter/upstream.js';

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const APP_ORIGIN = 'http://app.test';
/** The app's page that receives sign-ins: what most tests pass as return_to. */
export const APP_URL = `${APP_ORIGIN}/signed-in`;
/**
 * The redirect URIs a test roost registers (RETURN_TO_URLS): the app's
 * sign-in page, and the other exact URLs the tests send browsers back to.
 */
export const APP_RETURN_URLS = [APP_URL, `${APP_ORIGIN}/`, `${APP_ORIGIN}/cb`, `${APP_ORIGIN}/callback?tab=2`, `${APP_ORIGIN}/bye?x=1`];
export const CONSUMER_KEY = 'test-consumer-key';
export const CONSUMER_SECRET = 'test-consumer-secret';
export const CLIENT_ID = 'test-client-id';
export const CLIENT_SECRET = 'test-client-secret-of-the-oauth2-app';
/** Both ways roost signs in with X: the tests of whole flows run under each. */
export const PROTOCOLS = ['oauth1', 'oauth2'] as const satisfies readonly UpstreamProtocol[];

type Teardown = Pick<Test, 'teardown'>;

export interface Roost {
  readonly url: string;
  readonly app: FastifyInstance;
  readonly config: Config;
  readonly deps: Deps;
  readonly users: SandboxUser[];
  readonly providerUrl: string;
  /** The callbacks the sandbox this instance started accepts (read on every request): push another roost's to share it. */
  readonly sandboxCallbacks: string[];
  /** Closes the server and its connections before the test ends (teardown does it otherwise). */
  stop(): Promise<void>;
  /** Every log line the instance wrote, parsed. */
  readonly logs: Record<string, unknown>[];
  readonly rawLogs: string[];
}

export interface RoostOptions {
  /** Extra or replaced environment variables. */
  readonly env?: Record<string, string | undefined>;
  /** Point at this provider instead of starting a sandbox. */
  readonly providerUrl?: string;
  /** roost's own sandbox inside the app, as with no Twitter configuration (its users are the defaults, not `users`). */
  readonly sandbox?: boolean;
  /** How roost signs in with X (default oauth1): the keys it is given, or TWITTER_PROTOCOL for the built-in sandbox. */
  readonly protocol?: UpstreamProtocol;
  /** Embedded defaults: PGlite in a temp folder and the in-process store. */
  readonly embedded?: boolean;
  readonly now?: () => number;
  /** Share this database (another roost's config.databaseUrl) instead of creating a schema; pass its ENCRYPTION_KEY too. */
  readonly databaseUrl?: string;
  /** Share Redis keys (flows, rate-limit counters) with another instance, as replicas do. */
  readonly redisKeyPrefix?: string;
  /** Listen on this port, e.g. the port of an instance stopped before, as a redeploy does. */
  readonly port?: number;
  /** Runs on the built app before it listens, e.g. to add a route under test. */
  readonly configure?: (app: FastifyInstance) => void | Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** A schema of its own in the test database, dropped at teardown; returns its URL. */
export async function createTestSchema(t: Teardown): Promise<string> {
  const schema = `roost_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  await admin.end();
  t.teardown(async () => {
    const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await client.connect();
    await client.query(`drop schema if exists ${schema} cascade`);
    await client.end();
  });
  const url = new URL(TEST_DATABASE_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return url.href;
}

export async function startRoost(t: Teardown, options: RoostOptions = {}): Promise<Roost> {
  const users = createDefaultSandboxUsers();
  let providerUrl = options.providerUrl;
  // As X does: the sandbox sends browsers back only to registered callbacks; a test may register more.
  const sandboxCallbacks: string[] = [];
  if (providerUrl === undefined && !options.sandbox) {
    const sandbox = await startSandboxServer({
      allowedCallbacks: sandboxCallbacks,
      consumerKey: CONSUMER_KEY,
      consumerSecret: CONSUMER_SECRET,
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      users,
      host: '127.0.0.1',
      port: 0,
    });
    t.teardown(() => sandbox.close());
    providerUrl = sandbox.url;
  }
  const storage: Record<string, string> = {};
  if (options.embedded) {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'roost-test-'));
    t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
    storage.DATA_DIR = dataDir;
  } else {
    storage.DATABASE_URL = options.databaseUrl ?? (await createTestSchema(t));
    storage.REDIS_URL = TEST_REDIS_URL;
  }
  // A free port may be taken by another test file between freePort() and listen(): then another one.
  const startOn = async (port: number): Promise<Roost> => {
    const config = loadConfig({
      PORT: String(port),
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      // The built-in sandbox beside a real database is asked for by name.
      ...(options.sandbox ? { SANDBOX: 'true', ...(options.protocol ? { TWITTER_PROTOCOL: options.protocol } : {}) } : xKeys(options.protocol ?? 'oauth1', providerUrl as string)),
      TWITTER_TIMEOUT_MS: '1000',
      RETURN_TO_URLS: APP_RETURN_URLS.join(','),
      COOKIE_SECRET: randomBytes(32).toString('hex'),
      ENCRYPTION_KEY: randomBytes(32).toString('hex'),
      LOG_LEVEL: 'info',
      // Test files sign in and refresh far more often than a person; test/http/rate-limit.test.ts sets its own.
      LOGIN_RATE_LIMIT: '100000',
      TOKEN_RATE_LIMIT: '100000',
      // This roost shares its event loop with the test file (tap, coverage, the test's own clients), whose
      // pauses on a busy machine are not the server's overload; test/http/overload.test.ts sets its own bounds.
      OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0',
      ...storage,
      ...options.env,
    });
    sandboxCallbacks.push(config.callbackUrl);
    const rawLogs: string[] = [];
    const logs: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) {
          rawLogs.push(line);
          logs.push(JSON.parse(line) as Record<string, unknown>);
        }
        done();
      },
    });
    const logger = createLogger(config.logLevel, sink);
    const deps = await createDeps(config, logger, { redisKeyPrefix: options.redisKeyPrefix ?? `roost-test:${randomBytes(6).toString('hex')}:`, ...(options.now ? { now: options.now } : {}) });
    const app = await buildApp(config, deps, logger);
    await options.configure?.(app);
    // Every response this instance sends is held to openapi.yaml.
    const violations: string[] = [];
    watchResponses(app, violations);
    let stopped = false;
    const stop = async () => {
      if (stopped) return;
      stopped = true;
      await app.close();
      await deps.close();
    };
    t.teardown(async () => {
      await stop();
      // Reported and failed through the exit code rather than asserted or
      // thrown: tap refuses assertions once a test has ended, and a throw here
      // would skip the other teardowns and leave the file hanging.
      if (violations.length > 0) {
        process.stderr.write(`responses that break openapi.yaml:\n  ${violations.join('\n  ')}\n`);
        process.exitCode = 1;
      }
    });
    try {
      await app.listen({ port, host: '127.0.0.1' });
    } catch (error) {
      await stop();
      throw error;
    }
    return { url: config.publicUrl, app, config, deps, users, providerUrl: config.twitter.apiUrl, sandboxCallbacks, stop, logs, rawLogs };
  };
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await startOn(options.port ?? (await freePort()));
    } catch (error) {
      if (options.port !== undefined || attempt >= 3 || (error as { code?: unknown }).code !== 'EADDRINUSE') throw error;
    }
  }
}

/** The environment that points roost at a stand-in for X in one protocol. */
export function xKeys(protocol: UpstreamProtocol, providerUrl: string): Record<string, string> {
  if (protocol === 'oauth2') {
    return { TWITTER_CLIENT_ID: CLIENT_ID, TWITTER_CLIENT_SECRET: CLIENT_SECRET, TWITTER_API_URL: providerUrl, TWITTER_AUTHORIZE_URL: `${providerUrl}/i/oauth2/authorize` };
  }
  return { TWITTER_CONSUMER_KEY: CONSUMER_KEY, TWITTER_CONSUMER_SECRET: CONSUMER_SECRET, TWITTER_API_URL: providerUrl };
}
