// CPU time of everything an operation runs on, read before and after a
// phase: the server under test (roost or the floor), the provider, the
// driver (this process), Postgres and Redis. Postgres counts twice: its
// backends serving the benchmark's database (the statements themselves),
// and every other postgres process (WAL writer, checkpointer, background
// writer, and whatever else the server is doing meanwhile, which the idle
// rate measured before the run puts in proportion).
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { machineCpu, processCpu, processCpuMs } from './proc.js';
import { round } from './stats.js';

export interface Snapshot {
  readonly at: number;
  readonly serverCpu: number;
  readonly serverSystemCpu: number;
  readonly providerCpu: number;
  readonly driverCpu: number;
  /** Per backend of the benchmark's database. */
  readonly postgresBackends: ReadonlyMap<number, number>;
  /** Per postgres process of the machine, backends included. */
  readonly postgresAll: ReadonlyMap<number, number>;
  readonly redisCpu: number | undefined;
  readonly machine: { busyMs: number; totalMs: number };
  readonly loadavg1: number;
}

export interface Watched {
  readonly serverPid: number;
  readonly providerPid: number | undefined;
  /** The backends serving the benchmark's database right now. */
  readonly backendPids: () => Promise<number[]>;
  readonly redisPid: number | undefined;
}

/** CPU milliseconds per operation, by process. */
export interface CpuPerOp {
  readonly server: number;
  readonly serverKernel: number;
  readonly provider: number;
  readonly driver: number;
  /** The backends serving the benchmark's database. */
  readonly postgres: number;
  /** Every other postgres process (see above). */
  readonly postgresOther: number;
  readonly redis: number | null;
}

export async function takeSnapshot(watched: Watched): Promise<Snapshot> {
  const backends = await watched.backendPids();
  const usage = process.cpuUsage();
  const server = processCpu(watched.serverPid);
  return {
    at: performance.now(),
    serverCpu: server.userMs + server.systemMs,
    serverSystemCpu: server.systemMs,
    providerCpu: watched.providerPid === undefined ? 0 : processCpuMs(watched.providerPid),
    driverCpu: (usage.user + usage.system) / 1000,
    postgresBackends: cpuOf(backends),
    postgresAll: cpuOf(processesNamed('postgres')),
    redisCpu: watched.redisPid === undefined ? undefined : cpuOf([watched.redisPid]).get(watched.redisPid),
    machine: machineCpu(),
    loadavg1: os.loadavg()[0] as number,
  };
}

/** Each process's CPU between two snapshots divided by `operations`. */
export function cpuPerOp(before: Snapshot, after: Snapshot, operations: number): CpuPerOp {
  const per = (ms: number) => round(ms / Math.max(1, operations), 4);
  const backends = grown(before.postgresBackends, after.postgresBackends);
  return {
    server: per(after.serverCpu - before.serverCpu),
    serverKernel: per(after.serverSystemCpu - before.serverSystemCpu),
    provider: per(after.providerCpu - before.providerCpu),
    driver: per(after.driverCpu - before.driverCpu),
    postgres: per(backends),
    postgresOther: per(Math.max(0, grown(before.postgresAll, after.postgresAll) - backends)),
    redis: after.redisCpu === undefined || before.redisCpu === undefined ? null : per(after.redisCpu - before.redisCpu),
  };
}

/** Sums of several phases' CPU per operation, weighted by their operations. */
export function addCpu(parts: ReadonlyArray<{ cpu: CpuPerOp; operations: number }>): CpuPerOp {
  const total = parts.reduce((sum, part) => sum + part.operations, 0);
  const sum = (pick: (cpu: CpuPerOp) => number | null) => round(parts.reduce((acc, part) => acc + (pick(part.cpu) ?? NaN) * part.operations, 0) / Math.max(1, total), 4);
  return {
    server: sum((c) => c.server),
    serverKernel: sum((c) => c.serverKernel),
    provider: sum((c) => c.provider),
    driver: sum((c) => c.driver),
    postgres: sum((c) => c.postgres),
    postgresOther: sum((c) => c.postgresOther),
    redis: parts.some((part) => part.cpu.redis === null) ? null : sum((c) => c.redis),
  };
}

export function busyCores(before: Snapshot, after: Snapshot): number {
  return round((after.machine.busyMs - before.machine.busyMs) / (after.at - before.at), 2);
}

/**
 * What the postgres processes and redis-server burn with nothing of the
 * benchmark running, in CPU milliseconds per second: the noise under the
 * Postgres and Redis figures (other databases' work included).
 */
export async function idleRates(redisPid: number | undefined, ms: number): Promise<{ postgresMsPerSec: number; redisMsPerSec: number | null }> {
  const postgresBefore = cpuOf(processesNamed('postgres'));
  const redisBefore = redisPid === undefined ? undefined : cpuOf([redisPid]).get(redisPid);
  await new Promise((resolve) => setTimeout(resolve, ms));
  const postgres = grown(postgresBefore, cpuOf(processesNamed('postgres')));
  const redisAfter = redisPid === undefined ? undefined : cpuOf([redisPid]).get(redisPid);
  return {
    postgresMsPerSec: round((postgres * 1000) / ms, 1),
    redisMsPerSec: redisBefore === undefined || redisAfter === undefined ? null : round(((redisAfter - redisBefore) * 1000) / ms, 1),
  };
}

/** CPU time gained per process; one that appeared meanwhile started from zero, one that exited is lost. */
function grown(before: ReadonlyMap<number, number>, after: ReadonlyMap<number, number>): number {
  let total = 0;
  for (const [pid, cpu] of after) total += cpu - (before.get(pid) ?? 0);
  return total;
}

function cpuOf(pids: readonly number[]): Map<number, number> {
  const cpu = new Map<number, number>();
  for (const pid of pids) {
    try {
      cpu.set(pid, processCpuMs(pid));
    } catch {
      // Exited between listing and reading.
    }
  }
  return cpu;
}

/** Process ids whose command name (/proc/<pid>/comm) is `name`: a postgres server's postmaster and its children. */
function processesNamed(name: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === name) pids.push(Number(entry));
    } catch {
      // Gone, or not ours to read.
    }
  }
  return pids;
}
