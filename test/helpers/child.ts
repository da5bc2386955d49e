// Runs a Node program as a child process, as a user would start it, and
// reads what it prints.
import { execFile, spawn } from 'node:child_process';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface Child {
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Resolves with the first match of pattern in the output; fails if the process exits or the time runs out first. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

export function startNode(t: Teardown, args: readonly string[], env: Record<string, string>): Child {
  let output = '';
  // tap collects coverage in child processes too, but a process that runs the
  // TypeScript sources through tsx has other transpiled code and source maps
  // for the same files than tap's own loader, and merging the two spoils the
  // whole coverage report; so such a process reports none.
  const coverage = args.includes('tsx') ? { _TAPJS_PROCESSINFO_COVERAGE_: '0' } : {};
  const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH ?? '', ...coverage, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (chunk) => (output += String(chunk)));
  child.stderr.on('data', (chunk) => (output += String(chunk)));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return {
    output: () => output,
    async waitFor(pattern, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const match = pattern.exec(output);
        if (match) return match;
        if (child.exitCode !== null) throw new Error(`${args.join(' ')} exited with ${child.exitCode}: ${output}`);
        if (Date.now() > deadline) throw new Error(`${args.join(' ')} printed no ${pattern} in ${timeoutMs} ms: ${output}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs one of roost's commands to its end, as an operator would: `script`
 * from src/ through tsx, or the npm script of that name. Only PATH and `env`
 * reach it.
 */
export function runCommand(command: { readonly script: string } | { readonly npmScript: string }, args: readonly string[], env: Record<string, string>): Promise<Run> {
  const [file, argv] =
    'npmScript' in command
      ? ['npm', ['run', '--silent', command.npmScript, '--', ...args]]
      : [process.execPath, ['--import', 'tsx', command.script, ...args]];
  // No coverage from these tsx processes (see startNode).
  const childEnv = { PATH: process.env.PATH ?? '', _TAPJS_PROCESSINFO_COVERAGE_: '0', ...env };
  return new Promise((resolve) => {
    execFile(file, argv, { env: childEnv, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}
