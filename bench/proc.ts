// What the kernel says about a process and the machine: CPU time from
// /proc/<pid>/stat, memory from /proc/<pid>/status, machine CPU from /proc/stat.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

export interface ProcessCpu {
  readonly userMs: number;
  readonly systemMs: number;
}

/** CPU time of a process in milliseconds, user and kernel (resolution: one clock tick, usually 10 ms). */
export function processCpu(pid: number): ProcessCpu {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may hold spaces and parentheses; the fields start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // proc(5): utime and stime are fields 14 and 15; fields[0] here is field 3.
  return { userMs: (Number(fields[11]) * 1000) / CLOCK_TICKS, systemMs: (Number(fields[12]) * 1000) / CLOCK_TICKS };
}

/** User plus system CPU time of a process, in milliseconds. */
export function processCpuMs(pid: number): number {
  const cpu = processCpu(pid);
  return cpu.userMs + cpu.systemMs;
}

/** Sum over several processes; one that has gone away counts as zero. */
export function processesCpuMs(pids: readonly number[]): number {
  let total = 0;
  for (const pid of pids) {
    try {
      total += processCpuMs(pid);
    } catch {
      // Exited between listing and reading.
    }
  }
  return total;
}

export interface Memory {
  /** Resident set size now, in MB. */
  readonly rssMb: number;
  /** The peak resident set size since the process started (VmHWM), in MB. */
  readonly peakRssMb: number;
}

export function processMemory(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMb: round(kb('VmRSS') / 1024, 1), peakRssMb: round(kb('VmHWM') / 1024, 1) };
}

export interface MachineCpu {
  readonly busyMs: number;
  readonly totalMs: number;
}

/** Time all cores spent busy and in total since boot (the first line of /proc/stat). */
export function machineCpu(): MachineCpu {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  const ticks = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already inside user).
  const total = ticks.slice(0, 8).reduce((sum, value) => sum + value, 0);
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  return { busyMs: ((total - idle) * 1000) / CLOCK_TICKS, totalMs: (total * 1000) / CLOCK_TICKS };
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
