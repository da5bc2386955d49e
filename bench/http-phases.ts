// GET requests with autocannon against several servers in interleaved
// rounds, so a burst of other work on the machine hits them all alike: the
// JWKS beside bare node:http and Fastify sending the same bytes, /me beside
// the floor's.
import { measureHttp, type HttpLoadResult } from './http-load.js';
import { processMemory } from './proc.js';
import type { HttpPhase, HttpTarget } from './results.js';
import { addCpu, cpuPerOp, takeSnapshot, type CpuPerOp, type Watched } from './snapshots.js';

export interface HttpTargetSpec {
  readonly target: HttpTarget;
  readonly name: string;
  readonly url: string;
  readonly pid: number;
  readonly headers?: Record<string, string>;
  /** Record the process's RSS after each round (roost). */
  readonly rss?: boolean;
}

export interface HttpSettings {
  readonly connections: number;
  readonly rounds: number;
  /** Per target, over all rounds. */
  readonly seconds: number;
  readonly watched: Omit<Watched, 'serverPid'>;
  readonly say: (line: string) => void;
}

export async function measureHttpPhases(targets: readonly HttpTargetSpec[], settings: HttpSettings): Promise<HttpPhase[]> {
  // A second each to warm the servers' paths and open the connections.
  for (const target of targets) await measureHttp({ url: target.url, headers: target.headers ?? {}, connections: settings.connections, durationS: 1 });
  const tallies = targets.map((target) => ({ target, results: [] as HttpLoadResult[], cpu: [] as Array<{ cpu: CpuPerOp; operations: number }>, loadavg1: [] as number[], rssAfterMb: [] as number[] }));
  for (let round = 0; round < settings.rounds; round++) {
    for (const tally of tallies) {
      const { url, pid, headers } = tally.target;
      const watched = { ...settings.watched, serverPid: pid };
      const before = await takeSnapshot(watched);
      const result = await measureHttp({ url, headers: headers ?? {}, connections: settings.connections, durationS: settings.seconds / settings.rounds });
      const after = await takeSnapshot(watched);
      tally.results.push(result);
      tally.cpu.push({ cpu: cpuPerOp(before, after, result.requests), operations: result.requests });
      tally.loadavg1.push(before.loadavg1);
      if (tally.target.rss) tally.rssAfterMb.push(processMemory(pid).rssMb);
    }
  }
  return tallies.map(({ target, results, cpu, loadavg1, rssAfterMb }): HttpPhase => {
    // The median round speaks for the target; requests, failures and CPU count over all rounds.
    const middle = [...results].sort((a, b) => a.reqPerSec - b.reqPerSec)[Math.floor(results.length / 2)] as HttpLoadResult;
    const sum = (pick: (result: HttpLoadResult) => number) => results.reduce((total, result) => total + pick(result), 0);
    const phase: HttpPhase = {
      target: target.target,
      name: target.name,
      ...middle,
      requests: sum((r) => r.requests),
      non2xx: sum((r) => r.non2xx),
      errors: sum((r) => r.errors),
      timeouts: sum((r) => r.timeouts),
      roundsReqPerSec: results.map((r) => r.reqPerSec),
      cpuMsPerRequest: addCpu(cpu),
      loadavg1: Math.round(Math.max(...loadavg1) * 100) / 100,
      ...(rssAfterMb.length > 0 ? { roostRssAfterMb: rssAfterMb } : {}),
    };
    settings.say(
      `${target.name}: ${phase.reqPerSec} req/s (rounds ${phase.roundsReqPerSec.join(', ')}), p50 ${phase.latencyMs.p50} ms, p99 ${phase.latencyMs.p99} ms, ` +
        `CPU ${phase.cpuMsPerRequest.server} ms/request, Postgres ${phase.cpuMsPerRequest.postgres} ms/request, non-2xx ${phase.non2xx}, errors ${phase.errors}` +
        `${rssAfterMb.length > 0 ? `, RSS after each round ${rssAfterMb.join(', ')} MB` : ''}`,
    );
    return phase;
  });
}
