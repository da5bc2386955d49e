// DATA_DIR's lock: what the file says, when a lock is stale, what a refused
// process is told, and taking, refusing, taking over and releasing it in a
// real folder (with the processes' pids and liveness made up).
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import {
  DataDirInUseError,
  describeHeldLock,
  describeTakeover,
  formatLockFile,
  isRunningBy,
  isStale,
  lockDataDir,
  parseLockFile,
  type LockOwner,
} from '../../../src/store/data-dir-lock.js';

const server: LockOwner = { pid: 1234, holder: 'roost', host: 'box', since: '2026-01-02T03:04:05.000Z' };

function errno(code: string): Error {
  return Object.assign(new Error(code), { code });
}

t.test('the lock file names its owner, and only a complete one counts', async (t) => {
  t.equal(formatLockFile(server), '{"pid":1234,"holder":"roost","host":"box","since":"2026-01-02T03:04:05.000Z"}\n');
  t.same(parseLockFile(formatLockFile(server)), server, 'read back');
  const unreadable = ['', '{"pid":12', 'null', '"roost"', '1234', '{"pid":"1234","holder":"roost","host":"box","since":"x"}', '{"pid":0,"holder":"roost","host":"box","since":"x"}', '{"pid":1.5,"holder":"roost","host":"box","since":"x"}', '{"pid":12,"host":"box","since":"x"}'];
  for (const text of unreadable) t.equal(parseLockFile(text), undefined, JSON.stringify(text));
});

t.test('when a lock is stale', async (t) => {
  const self = { pid: 99, host: 'box' };
  const running = (pids: number[]) => (pid: number) => pids.includes(pid);
  const cases: Array<[string, LockOwner | undefined, (pid: number) => boolean, boolean]> = [
    ['its process runs', server, running([1234]), false],
    ['its process is gone', server, running([]), true],
    ['it names no process', undefined, running([1234]), true],
    ['it is on another machine, whose pids mean nothing here', { ...server, host: 'other' }, running([]), false],
    ['it has this process pid: an earlier process (a restarted container)', { ...server, pid: 99 }, running([99]), true],
  ];
  for (const [name, owner, isRunning, stale] of cases) t.equal(isStale(owner, self, isRunning), stale, name);
});

t.test('signal 0 tells a running pid from a gone one', async (t) => {
  const isRunning = isRunningBy((pid) => {
    if (pid === 1) throw errno('EPERM');
    if (pid === 2) throw errno('ESRCH');
    return true;
  });
  t.equal(isRunning(1), true, 'EPERM: runs, as another user');
  t.equal(isRunning(2), false, 'ESRCH: no such process');
  t.equal(isRunning(3), true);
});

t.test('what a refused process is told', async (t) => {
  t.equal(describeHeldLock(server, '.data', 'command', 'box'), 'roost (pid 1234) is using .data; stop it first, or run the command against DATABASE_URL');
  t.equal(describeHeldLock(server, '.data', 'server', 'box'), 'roost (pid 1234) is using .data; stop it first, or give this server another DATA_DIR or a DATABASE_URL');
  t.equal(
    describeHeldLock({ ...server, holder: 'roost keys', host: 'other' }, '/var/lib/roost', 'command', 'box'),
    'roost keys (pid 1234 on other) is using /var/lib/roost; stop it first, or run the command against DATABASE_URL (if it no longer runs, delete /var/lib/roost/roost.lock)',
  );
  t.equal(describeTakeover('.data/roost.lock', server), 'took over .data/roost.lock from roost (pid 1234, since 2026-01-02T03:04:05.000Z), which no longer runs');
  t.equal(describeTakeover('.data/roost.lock', undefined), 'took over .data/roost.lock, which named no process');
});

/** A DATA_DIR of its own, not created yet. */
function dataDir(t: { teardown(fn: () => void): void }): string {
  const parent = mkdtempSync(path.join(tmpdir(), 'roost-lock-'));
  t.teardown(() => rmSync(parent, { recursive: true, force: true }));
  return path.join(parent, 'data');
}

/** A process on machine "box" that sees `running` as the running pids. */
function fakeProcess(pid: number, running: number[], holder = 'roost keys') {
  const kill = (target: number) => {
    if (!running.includes(target)) throw errno('ESRCH');
  };
  return { pid, holder, kind: 'command' as const, kill, host: 'box', now: () => new Date('2026-01-02T03:04:05.000Z') };
}

t.test('taken, refused while held, released', async (t) => {
  const dir = dataDir(t);
  const lock = lockDataDir(dir, fakeProcess(10, [10, 20], 'roost'));
  const file = path.join(dir, 'roost.lock');
  t.equal(lock.file, file);
  t.equal(lock.takeover, undefined);
  t.same(parseLockFile(readFileSync(file, 'utf8')), { pid: 10, holder: 'roost', host: 'box', since: '2026-01-02T03:04:05.000Z' });
  t.same(readdirSync(dir), ['roost.lock'], 'the folder is created, and nothing but the lock is left in it');

  const refused = t.throws(() => lockDataDir(dir, fakeProcess(20, [10, 20])));
  t.ok(refused instanceof DataDirInUseError);
  t.equal((refused as Error).message, `roost (pid 10) is using ${dir}; stop it first, or run the command against DATABASE_URL`);
  t.same((refused as DataDirInUseError).owner, { pid: 10, holder: 'roost', host: 'box', since: '2026-01-02T03:04:05.000Z' });
  t.same(readdirSync(dir), ['roost.lock'], 'the refused process left nothing behind');
  t.same(parseLockFile(readFileSync(file, 'utf8'))?.pid, 10, 'and did not touch the lock');

  lock.release();
  t.notOk(existsSync(file), 'released');
  lock.release();
  const next = lockDataDir(dir, fakeProcess(20, [20]));
  t.equal(next.takeover, undefined, 'a released lock is simply taken');
  next.release();
});

t.test('a stale lock is taken over, and says from whom', async (t) => {
  const dir = dataDir(t);
  const file = path.join(dir, 'roost.lock');
  const gone = lockDataDir(dir, fakeProcess(10, [10], 'roost'));
  // pid 10 dies without releasing (kill -9).
  const lock = lockDataDir(dir, fakeProcess(20, [20]));
  t.equal(lock.takeover, `took over ${file} from roost (pid 10, since 2026-01-02T03:04:05.000Z), which no longer runs`);
  t.equal(parseLockFile(readFileSync(file, 'utf8'))?.pid, 20);
  t.same(readdirSync(dir), ['roost.lock']);
  gone.release();
  t.equal(parseLockFile(readFileSync(file, 'utf8'))?.pid, 20, 'the old owner releasing late leaves the new lock alone');
  lock.release();

  writeFileSync(file, '');
  const afterCrash = lockDataDir(dir, fakeProcess(30, [30]));
  t.equal(afterCrash.takeover, `took over ${file}, which named no process`, 'an empty lock (a crash as it was written)');
  afterCrash.release();
});

t.test('a lock from another machine is never taken over', async (t) => {
  const dir = dataDir(t);
  lockDataDir(dir, { ...fakeProcess(10, [10], 'roost'), host: 'other' });
  t.throws(() => lockDataDir(dir, fakeProcess(20, [20])), {
    message: `roost (pid 10 on other) is using ${dir}; stop it first, or run the command against DATABASE_URL (if it no longer runs, delete ${path.join(dir, 'roost.lock')})`,
  });
});
