// Runs a Node program as a child process, as a user would start it, and
// reads what it prints.
import { spawn } from 'node:child_process';

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
