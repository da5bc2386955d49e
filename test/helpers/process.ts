// Runs roost as a real process (node + tsx on src/server.ts), for what only a
// process shows: signals, exit codes, start-up, several replicas.
import { spawn, type ChildProcess } from 'node:child_process';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface RoostProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  /** stdout and stderr so far. */
  output(): string;
  /** The JSON log lines so far, parsed. */
  logs(): Record<string, unknown>[];
  /** Resolves once the process logs that it is ready; rejects if it exits first. */
  ready(timeoutMs?: number): Promise<void>;
}

export interface SpawnOptions {
  /** Default src/server.ts. */
  readonly script?: string;
  /** Give the process a terminal for stdout, through script(1). */
  readonly terminal?: boolean;
}

/** Starts roost with exactly `env` plus PATH; killed at teardown. */
export function spawnRoost(t: Teardown, env: Record<string, string>, options: SpawnOptions = {}): RoostProcess {
  let output = '';
  const args = ['--import', 'tsx', options.script ?? 'src/server.ts'];
  const [command, argv] = options.terminal
    ? ['script', ['-qefc', [process.execPath, ...args].join(' '), '/dev/null']]
    : [process.execPath, args];
  const child = spawn(command, argv, {
    // No coverage from tsx processes: merged with tap's own it spoils the report (see child.ts).
    env: { PATH: process.env.PATH ?? '', _TAPJS_PROCESSINFO_COVERAGE_: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk) => (output += String(chunk)));
  child.stderr?.on('data', (chunk) => (output += String(chunk)));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    return exited;
  });
  const logs = () =>
    output
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  const ready = async (timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!output.includes('roost is ready')) {
      if (child.exitCode !== null) throw new Error(`roost exited with ${child.exitCode}: ${output}`);
      if (Date.now() > deadline) throw new Error(`roost did not start: ${output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  return { child, exited, output: () => output, logs, ready };
}

/** Resolves once `check` is true, or rejects after `timeoutMs`. */
export async function waitFor(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
