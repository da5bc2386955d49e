// The Dockerfile and compose.yaml cannot be built here (no container engine),
// so what can be checked without one is: the image's HEALTHCHECK command
// works against a real roost, and the compose example's environment, with
// the image's own, is a configuration roost accepts.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import t from 'tap';
import { parse } from 'yaml';
import { ConfigError, loadConfig } from '../src/config.js';
import { freePort, startRoost } from './helpers/roost.js';

const run = promisify(execFile);
const dockerfile = readFileSync(new URL('../Dockerfile', import.meta.url), 'utf8');
const packageJson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { engines: { node: string } };
const compose = parse(readFileSync(new URL('../compose.yaml', import.meta.url), 'utf8')) as {
  services: Record<string, { environment?: Record<string, string>; stop_grace_period?: string; depends_on?: Record<string, { condition: string }>; healthcheck?: unknown }>;
};

/** The runtime stage's ENV instructions, e.g. NODE_ENV=production. */
function imageEnv(): Record<string, string> {
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
  const env: Record<string, string> = {};
  for (const block of runtime.matchAll(/^ENV ((?:.*\\\n)*.*)$/gm)) {
    for (const pair of (block[1] as string).replace(/\\\n/g, ' ').trim().split(/\s+/)) {
      const [name, ...value] = pair.split('=');
      env[name as string] = value.join('=');
    }
  }
  return env;
}

/** Compose's ${VAR}, ${VAR:-default} and ${VAR:?message} forms. */
function interpolate(text: string, env: Record<string, string>): string {
  return text.replace(/\$\{([A-Z_][A-Z0-9_]*)(?::([-?])([^}]*))?\}/g, (_match, name: string, kind?: string, rest?: string) => {
    const value = env[name];
    if (value !== undefined && value !== '') return value;
    if (kind === '-') return rest ?? '';
    throw new Error(`${name} is required: ${rest ?? ''}`);
  });
}

t.test('the image: multi-stage, LTS slim base, production dependencies, non-root, graceful stop', async (t) => {
  t.ok((dockerfile.match(/^FROM /gm) ?? []).length >= 2, 'multi-stage');
  const base = /^ARG NODE_IMAGE=node:(\d+)-([a-z]+)-slim$/m.exec(dockerfile);
  t.ok(base, 'an official node image, slim variant, pinned to a major line and a Debian release');
  const major = Number(base?.[1]);
  t.ok(major >= 24 && major % 2 === 0, `Node ${major}: an LTS line (even, 24 or later)`);
  t.ok(major >= Number(/(\d+)/.exec(packageJson.engines.node)?.[1]), 'no older than package.json engines allows');
  t.match(dockerfile, /npm ci --omit=dev/);
  t.match(dockerfile, /^USER node$/m);
  t.match(dockerfile, /^EXPOSE 3000$/m);
  t.match(dockerfile, /^STOPSIGNAL SIGTERM$/m);
  t.match(dockerfile, /^HEALTHCHECK .*\/healthz/ms);
  t.same(Object.keys(imageEnv()).sort(), ['DATA_DIR', 'HOST', 'NODE_ENV', 'PORT'], 'no secret is baked into the image');
  const ignored = readFileSync(new URL('../.dockerignore', import.meta.url), 'utf8').split('\n');
  for (const entry of ['.env', '.env.*', '.data', 'node_modules', '.git']) t.ok(ignored.includes(entry), `.dockerignore lists ${entry}`);
});

t.test('the HEALTHCHECK command passes against a running roost and fails without one', async (t) => {
  const command = JSON.parse(/^HEALTHCHECK [^\n]*\\\n\s*CMD (\[.*\])$/m.exec(dockerfile)?.[1] ?? 'null') as string[] | null;
  t.ok(command, 'the HEALTHCHECK uses the exec form');
  const [program, ...args] = command as string[];
  t.equal(program, 'node', 'it needs only node: the slim image has no curl');
  const roost = await startRoost(t);
  const port = new URL(roost.url).port;
  const healthy = await run(process.execPath, args, { env: { PORT: port } }).then(() => 0, (error: { code: number }) => error.code);
  t.equal(healthy, 0);
  const down = await run(process.execPath, args, { env: { PORT: String(await freePort()) } }).then(() => 0, (error: { code: number }) => error.code);
  t.equal(down, 1);
});

t.test('the compose example is a configuration roost accepts, with Postgres and Redis healthy first', async (t) => {
  const secrets = {
    RETURN_TO_URLS: 'http://localhost:5173/signed-in',
    TWITTER_CONSUMER_KEY: 'key',
    TWITTER_CONSUMER_SECRET: 'secret',
    COOKIE_SECRET: 'c'.repeat(64),
    ENCRYPTION_KEY: 'e'.repeat(64),
    POSTGRES_PASSWORD: '0123456789abcdef',
  };
  const roost = compose.services.roost;
  t.ok(roost, 'a roost service');
  const environment = Object.fromEntries(Object.entries(roost?.environment ?? {}).map(([name, value]) => [name, interpolate(String(value), secrets)]));
  let config;
  try {
    config = loadConfig({ ...imageEnv(), ...environment });
  } catch (error) {
    t.fail(error instanceof ConfigError ? error.message : String(error));
    return;
  }
  t.equal(config.production, true);
  t.equal(new URL(config.databaseUrl as string).host, 'postgres:5432');
  t.equal(new URL(config.redisUrl as string).host, 'redis:6379');
  t.equal(interpolate(String(compose.services.postgres?.environment?.POSTGRES_PASSWORD), secrets), new URL(config.databaseUrl as string).password, 'one Postgres password on both sides');
  t.throws(() => interpolate(String(roost?.environment?.COOKIE_SECRET), {}), /COOKIE_SECRET is required/, 'a missing secret stops compose');

  const grace = Number(/^(\d+)s$/.exec(roost?.stop_grace_period ?? '')?.[1]);
  t.ok(grace * 1000 > config.shutdownTimeoutMs, `stop_grace_period (${grace} s) outlasts SHUTDOWN_TIMEOUT_MS (${config.shutdownTimeoutMs} ms)`);
  t.same(roost?.depends_on, { postgres: { condition: 'service_healthy' }, redis: { condition: 'service_healthy' } });
  t.ok(compose.services.postgres?.healthcheck && compose.services.redis?.healthcheck, 'both dependencies have a healthcheck');
});
