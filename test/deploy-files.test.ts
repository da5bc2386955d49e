// The Dockerfile and compose.yaml cannot be built here (no container engine),
// so what can be checked without one is: the image's HEALTHCHECK command
// works against a real roost, and the compose example's environment and the
// documented sandbox commands, with the image's own, are configurations roost
// accepts (and the sandbox ones are refused with NODE_ENV=production).
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import t, { type Test } from 'tap';
import { parse } from 'yaml';
import { type Config, ConfigError, loadConfig } from '../src/config.js';
import { freePort, startRoost } from './helpers/roost.js';

const run = promisify(execFile);
const dockerfile = readFileSync(new URL('../Dockerfile', import.meta.url), 'utf8');
const packageJson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { engines: { node: string } };
const production = readFileSync(new URL('../docs/production.md', import.meta.url), 'utf8');
type Service = {
  build?: unknown;
  image?: string;
  profiles?: string[];
  ports?: string[];
  volumes?: string[];
  environment?: Record<string, string | null>;
  stop_grace_period?: string;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: unknown;
};
const compose = parse(readFileSync(new URL('../compose.yaml', import.meta.url), 'utf8')) as { services: Record<string, Service> };

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

/**
 * A service's environment as Compose hands it over: ${…} interpolated from the
 * shell's variables, and a name without a value passed through from the shell
 * (left out when the shell does not set it).
 */
function serviceEnv(service: Service | undefined, shell: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(service?.environment ?? {})) {
    if (value === null) {
      if (shell[name] !== undefined) env[name] = shell[name];
    } else env[name] = interpolate(String(value), shell);
  }
  return env;
}

/** The -e NAME=VALUE and -p HOST:CONTAINER of a `docker run` command line. */
function dockerRunOptions(line: string): { env: Record<string, string>; ports: string[] } {
  const env: Record<string, string> = {};
  for (const [, name, value] of line.matchAll(/(?:^|\s)-e ([A-Z_][A-Z0-9_]*)=(\S*)/g)) env[name as string] = value as string;
  return { env, ports: [...line.matchAll(/(?:^|\s)-p (\S+)/g)].map((match) => match[1] as string) };
}

/** The configuration roost builds from env, or the test's failure with roost's own message. */
function accepted(t: Test, env: Record<string, string>): Config | undefined {
  try {
    return loadConfig(env);
  } catch (error) {
    t.fail(error instanceof ConfigError ? error.message : String(error));
    return undefined;
  }
}

/**
 * What keeps env from being a container sandbox: it must run the sandbox
 * Twitter on the embedded Postgres in the image's DATA_DIR, listen on every
 * interface of the container at a published port that PUBLIC_URL names on
 * the host, and be refused once NODE_ENV=production comes back.
 */
function sandboxProblems(env: Record<string, string>, published: readonly string[]): string[] {
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (error) {
    return [`refused: ${error instanceof ConfigError ? error.message : String(error)}`];
  }
  const problems: string[] = [];
  if (!config.sandbox) problems.push('not in sandbox mode');
  if (config.production) problems.push('production');
  if (config.databaseUrl !== undefined) problems.push('not the embedded Postgres');
  if (config.redisUrl !== undefined) problems.push('not the in-process flow store');
  if (config.dataDir !== imageEnv().DATA_DIR) problems.push(`DATA_DIR ${config.dataDir} is not the image's writable folder`);
  if (config.host !== '0.0.0.0') problems.push(`HOST ${config.host}: unreachable through a published port`);
  const publicUrl = new URL(config.publicUrl);
  if (publicUrl.protocol !== 'http:' || !['localhost', '127.0.0.1'].includes(publicUrl.hostname)) {
    problems.push(`PUBLIC_URL ${config.publicUrl} is not http://localhost or http://127.0.0.1`);
  }
  if (!published.includes(`${publicUrl.port}:${config.port}`)) problems.push(`PUBLIC_URL's port is not published to PORT ${config.port} (${published.join(', ')})`);
  try {
    loadConfig({ ...env, NODE_ENV: 'production' });
    problems.push('accepted with NODE_ENV=production');
  } catch (error) {
    if (!(error instanceof ConfigError && /the sandbox provider never runs in production/.test(error.message))) {
      problems.push(`with NODE_ENV=production refused for another reason: ${String(error)}`);
    }
  }
  return problems;
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
  t.equal(roost?.profiles, undefined, 'in no profile: `docker compose up` starts it');
  const config = accepted(t, { ...imageEnv(), ...serviceEnv(roost, secrets) });
  if (!config) return;
  t.equal(config.production, true);
  t.equal(config.sandbox, false);
  t.equal(config.twitter.consumerKey, 'key', 'the Twitter keys come from the environment');
  t.equal(config.publicUrl, 'http://127.0.0.1:3000', 'locally at 127.0.0.1, the loopback name X accepts in a callback URL');
  t.equal(new URL(config.databaseUrl as string).host, 'postgres:5432');
  t.equal(new URL(config.redisUrl as string).host, 'redis:6379');
  t.equal(serviceEnv(compose.services.postgres, secrets).POSTGRES_PASSWORD, new URL(config.databaseUrl as string).password, 'one Postgres password on both sides');
  t.equal(serviceEnv(compose.services.postgres, {}).POSTGRES_PASSWORD, undefined, 'Postgres gets no password of this file\'s making');
  const missing = (() => {
    try {
      loadConfig({ ...imageEnv(), ...serviceEnv(roost, {}) });
      return [];
    } catch (error) {
      return error instanceof ConfigError ? error.problems : [String(error)];
    }
  })();
  for (const name of ['RETURN_TO_URLS', 'TWITTER_CONSUMER_KEY', 'COOKIE_SECRET', 'ENCRYPTION_KEY']) {
    t.ok(missing.some((problem) => problem.includes(name)), `without ${name} roost refuses to start and names it`);
  }

  const grace = Number(/^(\d+)s$/.exec(roost?.stop_grace_period ?? '')?.[1]);
  t.ok(grace * 1000 > config.shutdownTimeoutMs, `stop_grace_period (${grace} s) outlasts SHUTDOWN_TIMEOUT_MS (${config.shutdownTimeoutMs} ms)`);
  t.same(roost?.depends_on, { postgres: { condition: 'service_healthy' }, redis: { condition: 'service_healthy' } });
  t.ok(compose.services.postgres?.healthcheck && compose.services.redis?.healthcheck, 'both dependencies have a healthcheck');
});

t.test('compose.yaml needs no variable: Compose interpolates every service, in a profile or not', async (t) => {
  t.doesNotThrow(() => interpolate(JSON.stringify(compose), {}), 'every value interpolates with nothing set');
  for (const [name, service] of Object.entries(compose.services)) {
    t.doesNotThrow(() => serviceEnv(service, {}), `${name}'s environment interpolates with nothing set`);
  }
  t.throws(() => interpolate('${COOKIE_SECRET:?set it}', {}), /COOKIE_SECRET is required/, 'the check sees a required variable');
});

t.test('the compose sandbox: the same image in sandbox mode, in its own profile, with no secret', async (t) => {
  const sandbox = compose.services.sandbox;
  t.ok(sandbox, 'a sandbox service');
  t.same(sandbox?.profiles, ['sandbox'], 'only in the sandbox profile: `docker compose up` leaves it out');
  t.equal(sandbox?.image, compose.services.roost?.image, 'the image the roost service runs');
  t.same(sandbox?.build, compose.services.roost?.build, 'built from the same Dockerfile');
  t.equal(sandbox?.depends_on, undefined, 'needs neither Postgres nor Redis');
  const env = serviceEnv(sandbox, {});
  t.same(Object.keys(env).filter((name) => /SECRET|KEY|PASSWORD|TOKEN/.test(name)), [], 'no secret in its environment');
  t.same(sandboxProblems({ ...imageEnv(), ...env }, sandbox?.ports ?? []), [], 'a sandbox roost accepts, refused with NODE_ENV=production');
  t.ok(sandbox?.volumes?.some((volume) => volume.endsWith(`:${imageEnv().DATA_DIR}`)), 'DATA_DIR in a volume: the embedded database and generated secrets survive a restart');
});

t.test('the documented docker run of the sandbox', async (t) => {
  const section = production.slice(production.indexOf('\n## Try it in a container\n'));
  t.ok(section.length > 1 && production.includes('\n## Try it in a container\n'), 'docs/production.md has the section');
  const line = /^docker run [^\n]*$/m.exec(section.slice(0, section.indexOf('\n## ', 1)))?.[0] ?? '';
  t.match(line, /\broost$/, 'it runs the image built from this Dockerfile');
  t.match(dockerfile, line, 'the Dockerfile shows the same command');
  const { env, ports } = dockerRunOptions(line);
  t.same(sandboxProblems({ ...imageEnv(), ...env }, ports), [], 'a sandbox roost accepts, refused with NODE_ENV=production');
});

t.test('the sandbox check fails on what it guards against', async (t) => {
  const env = { ...imageEnv(), NODE_ENV: 'development', SANDBOX: 'true' };
  const port = ['3000:3000'];
  const expect = (problems: string[], patterns: RegExp[], message: string) => {
    t.equal(problems.length, patterns.length, `${message}: ${problems.join('; ') || 'no problem'}`);
    patterns.forEach((pattern, index) => t.match(problems[index] ?? '', pattern, message));
  };
  expect(sandboxProblems(env, port), [], 'the image with NODE_ENV and SANDBOX overridden');
  expect(sandboxProblems({ ...env, NODE_ENV: 'production' }, port), [/^refused: [\s\S]*the sandbox provider never runs in production/], 'the image\'s own NODE_ENV=production');
  expect(sandboxProblems({ ...env, DATABASE_URL: 'postgres://roost@postgres/roost' }, port), [/^not the embedded Postgres$/], 'an outside database');
  expect(sandboxProblems({ ...env, REDIS_URL: 'redis://redis:6379' }, port), [/^not the in-process flow store$/], 'an outside flow store');
  expect(sandboxProblems({ ...env, DATA_DIR: '.data' }, port), [/^DATA_DIR \.data/], 'a folder the node user may not write');
  expect(sandboxProblems({ ...env, HOST: 'localhost' }, port), [/^HOST localhost/], 'the container\'s loopback only');
  expect(sandboxProblems({ ...env, PUBLIC_URL: 'http://roost.example:3000' }, port), [/^PUBLIC_URL http:\/\/roost\.example/], 'a name the host\'s browser does not use');
  expect(sandboxProblems(env, ['8080:3000']), [/port is not published/], 'another published port');
  const twitter = { SANDBOX: 'false', TWITTER_CONSUMER_KEY: 'k', TWITTER_CONSUMER_SECRET: 's', RETURN_TO_URLS: 'http://localhost:5173/signed-in' };
  expect(sandboxProblems({ ...env, ...twitter }, port), [/^not in sandbox mode$/, /^with NODE_ENV=production refused for another reason/], 'real Twitter');
});

t.test('every project file roost reads at run time is copied into the runtime image', async (t) => {
  const { readdirSync, statSync } = await import('node:fs');
  const path = await import('node:path');
  const root = new URL('..', import.meta.url).pathname;
  const sources = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const full = path.join(dir, name);
      return statSync(full).isDirectory() ? sources(full) : full.endsWith('.ts') ? [full] : [];
    });
  // Project-relative paths written as string literals in src/ (readProjectFile's arguments and the tables it reads from).
  const read = new Set<string>();
  for (const file of sources(path.join(root, 'src'))) {
    for (const [, literal] of readFileSync(file, 'utf8').matchAll(/'([\w-]+(?:\/[\w.-]+)*\.(?:js|html|css|yaml|json))'/g)) {
      try {
        if (statSync(path.join(root, literal as string)).isFile()) read.add(literal as string);
      } catch {
        // Not a file of the project: a content type, a module name.
      }
    }
  }
  t.ok(read.has('client/roost.js') && read.has('openapi.yaml') && read.has('src/home/page.html'), `found the files read at run time: ${[...read].join(', ')}`);
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
  const copied = [...runtime.matchAll(/^COPY\s+(?!--)(\S+)\s+\S+$/gm)].map((match) => (match[1] as string).replace(/\/$/, ''));
  for (const file of read) t.ok(copied.some((source) => file === source || file.startsWith(`${source}/`)), `${file} is copied into the image`);
});
