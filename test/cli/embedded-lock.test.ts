// The embedded database held by one process at a time, with real processes:
// the commands and a second server refused while roost runs on DATA_DIR, a
// lock left by a process that died taken over, the lock gone after a clean
// shutdown, and no lock at all with DATABASE_URL.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { migrations } from '../../migrations/index.js';
import { runCommand } from '../helpers/child.js';
import { spawnRoost, type RoostProcess } from '../helpers/process.js';
import { createTestSchema, freePort } from '../helpers/roost.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** A DATA_DIR of its own, as on an operator's workstation. */
function dataDir(t: Teardown): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'roost-lock-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const lockFile = (dir: string) => path.join(dir, 'roost.lock');
/** Who the lock names, or undefined when there is none. */
function readLock(dir: string): { pid: number; holder: string; host: string; since: string } | undefined {
  return existsSync(lockFile(dir)) ? JSON.parse(readFileSync(lockFile(dir), 'utf8')) : undefined;
}

/** roost on the embedded defaults in `dir`, ready. */
async function startRoost(t: Teardown, dir: string): Promise<{ roost: RoostProcess; url: string }> {
  const port = await freePort();
  const roost = spawnRoost(t, { PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dir });
  await roost.ready();
  return { roost, url: `http://localhost:${port}` };
}

async function stop(roost: RoostProcess): Promise<number | null> {
  roost.child.kill('SIGTERM');
  return roost.exited;
}

const command = (name: 'migrate' | 'keys' | 'sessions', args: string[], env: Record<string, string>) => runCommand({ script: `src/cli/${name}.ts` }, args, env);

async function kids(url: string): Promise<string[]> {
  const jwks = (await (await fetch(`${url}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> };
  return jwks.keys.map((key) => key.kid);
}

/** The pid of a process that has ended. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid!;
}

// One DATA_DIR through its life (a fresh embedded database is costly to
// make): held by a server, refused to commands and to a second server,
// released by a clean shutdown, then left behind by processes that died.
t.test('one DATA_DIR held, refused, released and taken over', async (t) => {
  const dir = dataDir(t);
  const env = { DATA_DIR: dir };
  let published: string[] = [];

  await t.test('while roost runs on DATA_DIR, every command and a second server refuse before they write, exit 1', async (t) => {
    const { roost, url } = await startRoost(t, dir);
    const pid = roost.child.pid!;
    t.match(readLock(dir), { pid, holder: 'roost', host: hostname() }, 'the lock names the server');
    published = await kids(url);
    // ES256 signs access tokens; RS256 the ID tokens of the zero-configuration sandbox's demo client.
    t.equal(published.length, 2);
    const secrets = readFileSync(path.join(dir, 'secrets.json'), 'utf8');

    const [rotate, migrate, purge] = await Promise.all([command('keys', ['rotate'], env), command('migrate', [], env), command('sessions', ['purge'], env)]);
    const refusal = `(pid ${pid}) is using ${dir}; stop it first, or run the command against DATABASE_URL\n`;
    t.same(rotate, { code: 1, stdout: '', stderr: `roost keys: roost ${refusal}` });
    t.same(migrate, { code: 1, stdout: '', stderr: `roost migrate: roost ${refusal}` });
    t.same(purge, { code: 1, stdout: '', stderr: `roost sessions: roost ${refusal}` });

    const secondPort = await freePort();
    const second = spawnRoost(t, { PORT: String(secondPort), HOST: '127.0.0.1', DATA_DIR: dir });
    // Started, it would serve on the same files until killed.
    t.equal(await Promise.race([second.exited, second.ready().then(() => 'ready', () => second.exited)]), 1);
    t.equal(second.output(), `roost: failed to start: roost (pid ${pid}) is using ${dir}; stop it first, or give this server another DATA_DIR or a DATABASE_URL\n`);

    t.same(await kids(url), published, 'the server publishes the same key set');
    t.equal(readLock(dir)?.pid, pid, 'the lock still names the server');
    t.equal((await fetch(`${url}/readyz`)).status, 200, 'and it still serves');
    t.equal(readFileSync(path.join(dir, 'secrets.json'), 'utf8'), secrets);
    t.equal(await stop(roost), 0);
    t.match(roost.output(), '"msg":"closed"');
  });

  await t.test('a clean shutdown releases the lock: a command then runs, and releases it too', async (t) => {
    t.notOk(existsSync(lockFile(dir)), 'released');
    const list = await command('keys', ['list'], env);
    t.equal(list.code, 0, list.stderr);
    t.match(list.stdout, /^state +alg +kid\n/);
    for (const kid of published) t.match(list.stdout, new RegExp(`\\ncurrent +(ES256|RS256) +${kid} +signing since \\S+\\n`), 'each key as it was');
    t.equal(list.stdout.trim().split('\n').length, 3, 'and no other: no next key was published while the server ran');
    const rotate = await command('keys', ['rotate'], env);
    t.equal(rotate.code, 0, rotate.stderr);
    t.match(rotate.stdout, /^published [\w-]{43} \(ES256\) as the next key/);
    t.equal(rotate.stderr, '', 'nothing taken over');
    t.notOk(existsSync(lockFile(dir)), 'the command released it');
  });

  await t.test('a lock left by a process that no longer runs is taken over, and said so', async (t) => {
    const gone = await deadPid();
    const leave = () => writeFileSync(lockFile(dir), `${JSON.stringify({ pid: gone, holder: 'roost', host: hostname(), since: '2026-01-02T03:04:05.000Z' })}\n`);
    const took = `took over ${lockFile(dir)} from roost (pid ${gone}, since 2026-01-02T03:04:05.000Z), which no longer runs`;

    leave();
    const { roost } = await startRoost(t, dir);
    t.match(roost.logs().find((line) => line.msg === took), { level: 40, lock: lockFile(dir) }, 'by the server, in its log');
    t.match(readLock(dir), { pid: roost.child.pid, holder: 'roost' });
    t.equal(await stop(roost), 0);

    leave();
    const migrate = await command('migrate', [], env);
    t.same(migrate, { code: 0, stdout: 'already up to date\n', stderr: `roost migrate: ${took}\n` }, 'by a command, on stderr');
    t.notOk(existsSync(lockFile(dir)), 'and released when it ends');
  });
});

t.test('with DATABASE_URL, DATA_DIR and its lock play no part', async (t) => {
  const dir = dataDir(t);
  // Held by a process that runs (this one).
  const held = `${JSON.stringify({ pid: process.pid, holder: 'roost', host: hostname(), since: '2026-01-02T03:04:05.000Z' })}\n`;
  writeFileSync(lockFile(dir), held);
  const migrate = await command('migrate', [], { DATABASE_URL: await createTestSchema(t), DATA_DIR: dir });
  t.same(migrate, { code: 0, stdout: `applied: ${Object.keys(migrations).join(', ')}\n`, stderr: '' });
  t.equal(readFileSync(lockFile(dir), 'utf8'), held, 'the lock is left as it was');
});
