// The processes and the database a benchmark run needs: a fresh Postgres
// database, roost itself (the compiled server, as in production), and the
// helper servers of serve.ts. Everything is stopped by its own pid.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { get } from 'node:http';
import { createServer } from 'node:net';
import pg from 'pg';
import { processCpuMs } from './proc.js';

export interface BenchDatabase {
  readonly name: string;
  readonly url: string;
  /** Process ids of the Postgres backends serving this database right now. */
  backendPids(): Promise<number[]>;
  drop(): Promise<void>;
}

/** A new database on the server `adminUrl` points at, dropped (with its connections) by drop(). */
export async function createBenchDatabase(adminUrl: string): Promise<BenchDatabase> {
  const name = `roost_bench_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.href,
    backendPids: async () => (await admin.query<{ pid: number }>('select pid from pg_stat_activity where datname = $1', [name])).rows.map((row) => row.pid),
    drop: async () => {
      // WITH (FORCE), Postgres 13+: ends any connection still open to it.
      await admin.query(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
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

export interface Helper {
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/** Starts `serve.ts <role>` in its own process and waits for it to listen. */
export async function startHelper(role: string, env: Record<string, string>): Promise<Helper> {
  const child = fork(new URL('./serve.ts', import.meta.url), [role], {
    execArgv: ['--import', 'tsx'],
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${role} did not start within 20 s`)), 20_000);
    child.once('message', (message) => {
      clearTimeout(timer);
      resolve((message as { url: string }).url);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${role} exited with ${code} before listening`));
    });
  });
  return { url, pid: child.pid as number, stop: () => stopChild(child) };
}

export interface RoostProcess {
  readonly url: string;
  readonly pid: number;
  /** From spawn to the first 200 from /healthz. */
  readonly readyMs: number;
  /** CPU time the process had used when it became ready: start-up work, whatever else runs on the machine. */
  readonly readyCpuMs: number;
  /** What roost itself logged as its start-up time (after Node has loaded it). */
  readonly loggedStartupMs: number | undefined;
  stop(): Promise<void>;
}

/** Starts the compiled server with exactly `env` (plus PATH), its logs going to `logPath`. */
export async function startRoost(env: Record<string, string>, logPath: string): Promise<RoostProcess> {
  const url = `http://127.0.0.1:${env.PORT}`;
  const log = openSync(logPath, 'a');
  const started = performance.now();
  // e.g. BENCH_ROOST_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/roost-prof" to profile roost under load.
  const nodeArgs = (process.env.BENCH_ROOST_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, 'dist/src/server.js'], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', log, log] });
  closeSync(log);
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  for (;;) {
    if (exited !== undefined) throw new Error(`roost exited with ${exited} while starting; see ${logPath}`);
    if (performance.now() - started > 20_000) {
      await stopChild(child);
      throw new Error(`roost was not ready within 20 s; see ${logPath}`);
    }
    if ((await healthStatus(url)) === 200) break;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const readyMs = performance.now() - started;
  const readyCpuMs = processCpuMs(child.pid as number);
  return { url, pid: child.pid as number, readyMs, readyCpuMs, loggedStartupMs: lastLoggedStartup(logPath), stop: () => stopChild(child) };
}

function healthStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const request = get(`${url}/healthz`, { agent: false }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.setTimeout(1000, () => request.destroy());
    request.on('error', () => resolve(0));
  });
}

function lastLoggedStartup(logPath: string): number | undefined {
  const lines = readFileSync(logPath, 'utf8').trim().split('\n').reverse();
  for (const line of lines) {
    try {
      const entry = JSON.parse(line) as { startupMs?: unknown };
      if (typeof entry.startupMs === 'number') return entry.startupMs;
    } catch {
      // Not a log line.
    }
  }
  return undefined;
}

/** SIGTERM, then SIGKILL after 10 s; resolves once the process has exited. */
function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
