// One process at a time on the embedded database. PGlite keeps its files in
// DATA_DIR with no lock of its own: a second process that opens them works on
// a copy of the state it read at start, so what it writes never reaches the
// first one, and the two overwrite each other's pages (or PGlite aborts). So
// whichever process opens the embedded database first creates DATA_DIR/roost.lock,
// naming itself; the others refuse before they write anything. A lock whose
// process is gone (a crash, a kill -9) is taken over.
//
// The entry points hold `process`: they pass their pid and process.kill,
// with which this module asks whether another pid still runs (signal 0).
import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';

export const LOCK_FILE_NAME = 'roost.lock';

/** Who holds the lock, as written in the file. */
export interface LockOwner {
  readonly pid: number;
  /** What runs: "roost" for the server, "roost keys" for a command, … */
  readonly holder: string;
  /** The machine it runs on: a pid means nothing on another (a container sharing the volume). */
  readonly host: string;
  /** When it took the lock (ISO 8601). */
  readonly since: string;
}

/** The process asking for the lock. */
export interface LockingProcess {
  readonly pid: number;
  readonly holder: string;
  /** The server and the commands give different advice when refused. */
  readonly kind: 'server' | 'command';
  /** process.kill: called with signal 0 only, to ask whether a pid runs. */
  readonly kill: (pid: number, signal: 0) => unknown;
  /** Default os.hostname(). */
  readonly host?: string;
  readonly now?: () => Date;
}

export interface DataDirLock {
  readonly file: string;
  /** What to tell the operator when the lock was taken over from a process that no longer runs. */
  readonly takeover: string | undefined;
  /** Removes the lock if it is still this process's; safe to call more than once, and from an 'exit' handler. */
  release(): void;
}

/** Another process holds the lock; the message says which and what to do. */
export class DataDirInUseError extends Error {
  constructor(
    message: string,
    readonly owner: LockOwner,
  ) {
    super(message);
    this.name = 'DataDirInUseError';
  }
}

export function formatLockFile(owner: LockOwner): string {
  return `${JSON.stringify({ pid: owner.pid, holder: owner.holder, host: owner.host, since: owner.since })}\n`;
}

/** The owner a lock file names, or undefined for a file that names none (empty, cut short by a crash, not ours). */
export function parseLockFile(text: string): LockOwner | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { pid, holder, host, since } = value as Record<string, unknown>;
  if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 0) return undefined;
  if (typeof holder !== 'string' || typeof host !== 'string' || typeof since !== 'string') return undefined;
  return { pid, holder, host, since };
}

/**
 * Whether the lock's owner is gone, so the lock may be taken over. A file
 * that names no owner is stale: roost writes the whole file before it
 * becomes the lock (see lockDataDir), so only a crash leaves one. An owner on another machine is never stale: its pid
 * cannot be checked from here. An owner with this process's own pid is an
 * earlier process that had it (a restarted container): a process takes
 * the lock once.
 */
export function isStale(owner: LockOwner | undefined, self: { readonly pid: number; readonly host: string }, isRunning: (pid: number) => boolean): boolean {
  if (owner === undefined) return true;
  if (owner.host !== self.host) return false;
  if (owner.pid === self.pid) return true;
  return !isRunning(owner.pid);
}

/** Signal 0 checks a pid without touching its process: ESRCH means no such process, EPERM one of another user. */
export function isRunningBy(kill: (pid: number, signal: 0) => unknown): (pid: number) => boolean {
  return (pid) => {
    try {
      kill(pid, 0);
      return true;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'EPERM';
    }
  };
}

/** Why a process is refused, and what the operator does about it. */
export function describeHeldLock(owner: LockOwner, dataDir: string, kind: LockingProcess['kind'], selfHost: string): string {
  const who = owner.host === selfHost ? `${owner.holder} (pid ${owner.pid})` : `${owner.holder} (pid ${owner.pid} on ${owner.host})`;
  const otherwise = kind === 'command' ? 'or run the command against DATABASE_URL' : 'or give this server another DATA_DIR or a DATABASE_URL';
  const gone = owner.host === selfHost ? '' : ` (if it no longer runs, delete ${path.join(dataDir, LOCK_FILE_NAME)})`;
  return `${who} is using ${dataDir}; stop it first, ${otherwise}${gone}`;
}

/** What a process says when it took over a stale lock. */
export function describeTakeover(file: string, previous: LockOwner | undefined): string {
  return previous === undefined
    ? `took over ${file}, which named no process`
    : `took over ${file} from ${previous.holder} (pid ${previous.pid}, since ${previous.since}), which no longer runs`;
}

/**
 * Takes DATA_DIR's lock for `self`, or throws DataDirInUseError naming the
 * process that holds it. Creates DATA_DIR when missing, and nothing else
 * before the lock is taken.
 */
export function lockDataDir(dataDir: string, self: LockingProcess): DataDirLock {
  mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, LOCK_FILE_NAME);
  const host = self.host ?? hostname();
  const content = formatLockFile({ pid: self.pid, holder: self.holder, host, since: (self.now?.() ?? new Date()).toISOString() });
  const isRunning = isRunningBy(self.kill);
  let takeover: string | undefined;
  // The file is written whole under a name of its own, then linked as the
  // lock: link(2), like open(2) with O_EXCL, fails when the name exists, and
  // no process ever reads a lock half written.
  const draft = `${file}.${self.pid}-${randomBytes(4).toString('hex')}`;
  writeFileSync(draft, content);
  try {
    // A few rounds: a racing process may take or release it between our steps.
    for (let round = 0; round < 5; round++) {
      if (createExclusive(draft, file, content)) return heldLock(file, content, takeover);
      const existing = readIfPresent(file);
      if (existing === undefined) continue;
      const owner = parseLockFile(existing);
      if (owner !== undefined && !isStale(owner, { pid: self.pid, host }, isRunning)) {
        throw new DataDirInUseError(describeHeldLock(owner, dataDir, self.kind, host), owner);
      }
      // Moved aside rather than deleted: if another process took the stale
      // lock over between our read and the move, what moved is its fresh
      // lock, which goes back.
      const aside = `${draft}.stale`;
      try {
        renameSync(file, aside);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw error;
      }
      if (readIfPresent(aside) === existing) takeover = describeTakeover(file, owner);
      else linkQuietly(aside, file);
      unlinkQuietly(aside);
    }
    throw new Error(`could not take ${file}: other processes keep taking and releasing it; try again`);
  } finally {
    unlinkQuietly(draft);
  }
}

function heldLock(file: string, content: string, takeover: string | undefined): DataDirLock {
  let released = false;
  return {
    file,
    takeover,
    release() {
      if (released) return;
      released = true;
      // Only our own: never a lock another process took over after ours went stale.
      if (readIfPresent(file) === content) unlinkQuietly(file);
    },
  };
}

/** Links the complete draft as the lock: true when taken, false when the lock exists. */
function createExclusive(draft: string, file: string, content: string): boolean {
  try {
    linkSync(draft, file);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    // A file system without hard links: open(2) with O_EXCL instead.
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw error;
  }
  try {
    writeFileSync(file, content, { flag: 'wx' });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

function readIfPresent(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function linkQuietly(from: string, to: string): void {
  try {
    linkSync(from, to);
  } catch {
    // Someone holds it again: the next round reads who.
  }
}

function unlinkQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // Already gone (DATA_DIR removed, or a racing process cleaned up).
  }
}
