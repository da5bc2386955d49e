// The shape of a benchmark run's results (bench/results/bench.json), and
// the per-operation view the report and the targets read. Pure.
import type { HttpLoadResult } from './http-load.js';
import type { OverloadOperation } from './overload.js';
import type { Memory } from './proc.js';
import type { SeedResult } from './seed.js';
import type { SeriesPoint } from './series.js';
import type { SoakResults } from './soak.js';
import type { CpuPerOp } from './snapshots.js';
import type { Summary } from './stats.js';

export interface FlowPhase {
  readonly concurrency: number;
  readonly providerLatencyMs: number;
  readonly seconds: number;
  readonly completed: number;
  readonly flowsPerSec: number;
  readonly errorCount: number;
  readonly errors: Record<string, number>;
  /** `browser`: the flow without the app's check of the token, as the operations table counts a sign-in. */
  readonly latencyMs: Record<
    'flow' | 'browser' | 'login' | 'authenticate' | 'callback' | 'verify' | 'provider' | 'roostOwn' | 'roostOwnLogin' | 'roostOwnCallback',
    Summary
  >;
  /** Each process's CPU time over the phase divided by completed sign-ins; `server` is roost. */
  readonly cpuMsPerFlow: CpuPerOp;
  /** Average busy cores of the whole machine over the phase (other work included). */
  readonly machineBusyCores: number;
  readonly loadavg1: readonly number[];
}

/** roost, its floor (floor.ts), or the passport-twitter peer (peer.ts), which does sign-ins only. */
export type Server = 'roost' | 'floor' | 'peer';
export type OperationName = 'sign-in' | 'code sign-in + redemption' | 'refresh';
export const OPERATIONS: readonly OperationName[] = ['sign-in', 'code sign-in + redemption', 'refresh'];

/** One operation driven at one concurrency against roost or its floor, the provider answering at once. */
export interface OperationPhase {
  readonly operation: OperationName;
  readonly server: Server;
  readonly concurrency: number;
  readonly seconds: number;
  readonly completed: number;
  readonly perSec: number;
  readonly errorCount: number;
  readonly errors: Record<string, number>;
  /** The whole operation, from the client's side. */
  readonly latencyMs: Summary;
  /** The code mode: POST /token alone. */
  readonly redeemLatencyMs?: Summary;
  readonly cpuMsPerOp: CpuPerOp;
  readonly machineBusyCores: number;
}

export type HttpTarget = 'node-http' | 'fastify' | 'roost-jwks' | 'roost-me' | 'floor-me';

export interface HttpPhase extends HttpLoadResult {
  readonly target: HttpTarget;
  readonly name: string;
  /** req/s of each round; reqPerSec and the latencies are those of the median round. */
  readonly roundsReqPerSec: readonly number[];
  /** roost's RSS after each round, when the target is roost. */
  readonly roostRssAfterMb?: readonly number[];
  /** Each process's CPU over all rounds divided by the requests answered; `server` is the target. */
  readonly cpuMsPerRequest: CpuPerOp;
  readonly loadavg1: number;
}

/** What one operation sends to Postgres and Redis, counted on the wire (wire-census.ts), per operation. */
export interface CensusEntry {
  readonly operation: OperationName | '/me' | 'JWKS';
  readonly server: Server;
  readonly operations: number;
  readonly postgresRoundTrips: number;
  readonly redisCommands: number;
}

export interface SeededResults {
  readonly seed: SeedResult;
  readonly operations: OperationPhase[];
  readonly http: HttpPhase[];
}

export interface RunMemory {
  idle: Memory;
  afterFlows: Memory;
  end: Memory;
  /** roost's RSS now and its peak so far (VmHWM) after each phase of the run, in order. */
  afterPhases: Array<{ phase: string } & Memory>;
  /** The highest peak of every roost process the run started: the measured one, read after its last phase, and the start-up and census instances. */
  peakRssMb: number;
}

export interface BenchResults {
  date: string;
  command: string;
  machine: {
    cpus: number;
    cpuModel: string;
    memoryGb: number;
    node: string;
    busyCoresBefore: number;
    /** CPU ms per second of all postgres processes and of redis-server before the run, nothing of it running. */
    idleNoise: { postgresMsPerSec: number; redisMsPerSec: number | null };
    loadavgBefore: number[];
    loadavgAfter: number[];
  };
  settings: {
    flowSeconds: number;
    warmupSeconds: number;
    latenciesMs: number[];
    concurrencies: number[];
    operationConcurrency: number;
    httpSeconds: number;
    httpRounds: number;
    connections: number;
    providerUsers: number;
    seedUsers: number;
    /** The chart's concurrencies, and each point's seconds when the sweep measures it. */
    seriesConcurrencies: number[];
    seriesSeconds: number;
    /** Seconds of each open-loop run of the overload phase (0: none), and the overload's multiple of the saturation rate. */
    overloadSeconds: number;
    overloadFactor: number;
    soakSeconds: number;
  };
  startup: { firstStartMs: number; readyMs: number[]; medianReadyMs: number; readyCpuMs: number[]; medianReadyCpuMs: number; loggedStartupMs: number[] };
  memory: RunMemory;
  flows: FlowPhase[];
  /** The passport-twitter peer's sign-ins (peer.ts), at each concurrency of the matrix, the provider answering at once. */
  peer: OperationPhase[];
  operations: OperationPhase[];
  http: HttpPhase[];
  /** Each operation at several concurrencies, roost beside its references: the chart's series. */
  series: SeriesPoint[];
  overload?: OverloadOperation[];
  soak?: SoakResults;
  census: CensusEntry[];
  seeded?: SeededResults;
  leftoverFlowsInRedis: number;
  runSeconds: number;
}

/** One operation of a session's life, roost beside its floor: the rows of the report's main table. */
export interface OperationRow {
  readonly name: string;
  /** What the floor does for it. */
  readonly floorIs: string;
  readonly roost: Measured | undefined;
  readonly floor: Measured | undefined;
  readonly census: { roost?: CensusEntry; floor?: CensusEntry };
}

export interface Measured {
  readonly perSec: number;
  readonly p50: number;
  readonly p99: number;
  readonly cpu: CpuPerOp;
  readonly failures: number;
}

export const FLOOR_IS: Record<OperationName | '/me' | 'JWKS', string> = {
  'sign-in': '2 requests served and 3 signed calls to the provider on node:http, 2 SQL statements, 4 Redis commands, 1 ES256 signature',
  'code sign-in + redemption': 'the sign-in with a code instead of tokens, then POST /token: 3 SQL statements, 8 Redis commands, 1 ES256 signature',
  refresh: 'POST /token on node:http, 1 SQL statement, 1 Redis command, 1 ES256 signature',
  '/me': 'GET on node:http, 1 ES256 verification, 1 SQL statement (and the session check once per 5 s)',
  JWKS: 'node:http sending the same bytes',
};

export function operationRows(results: Pick<BenchResults, 'operations' | 'http' | 'census'>): OperationRow[] {
  const census = (operation: CensusEntry['operation']) => ({
    roost: results.census.find((entry) => entry.operation === operation && entry.server === 'roost'),
    floor: results.census.find((entry) => entry.operation === operation && entry.server === 'floor'),
  });
  const fromPhase = (phase: OperationPhase | undefined): Measured | undefined =>
    phase && { perSec: phase.perSec, p50: phase.latencyMs.p50, p99: phase.latencyMs.p99, cpu: phase.cpuMsPerOp, failures: phase.errorCount };
  const fromHttp = (target: HttpTarget): Measured | undefined => {
    const phase = results.http.find((candidate) => candidate.target === target);
    return phase && { perSec: phase.reqPerSec, p50: phase.latencyMs.p50, p99: phase.latencyMs.p99, cpu: phase.cpuMsPerRequest, failures: phase.non2xx + phase.errors };
  };
  const phase = (operation: OperationName, server: Server) => results.operations.find((candidate) => candidate.operation === operation && candidate.server === server);
  return [
    ...OPERATIONS.map((operation) => ({
      name: operation,
      floorIs: FLOOR_IS[operation],
      roost: fromPhase(phase(operation, 'roost')),
      floor: fromPhase(phase(operation, 'floor')),
      census: census(operation),
    })),
    { name: 'GET /me', floorIs: FLOOR_IS['/me'], roost: fromHttp('roost-me'), floor: fromHttp('floor-me'), census: census('/me') },
    { name: 'GET /.well-known/jwks.json', floorIs: FLOOR_IS.JWKS, roost: fromHttp('roost-jwks'), floor: fromHttp('node-http'), census: census('JWKS') },
  ];
}
