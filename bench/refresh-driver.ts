// Drives refreshes as browsers make them: each virtual client holds its own
// session and chains its refresh tokens, POST /token grant_type=refresh_token
// with the refresh token of the answer before (RFC 6749 §6), over a
// keep-alive connection, for a fixed time. A chain that breaks stops.
import { Agent } from 'node:http';
import { FlowError, post, problemCode, step } from './flow-driver.js';

export interface RefreshRunOptions {
  readonly url: string;
  /** One refresh token per client, each of its own session. */
  readonly refreshTokens: readonly string[];
  readonly durationMs: number;
  /** Each chain stops after this many refreshes, or at the end of durationMs. */
  readonly refreshesPerChain?: number;
  readonly timeoutMs: number;
  /** Rejects when an access token is not one the server should have issued; asked for each chain's last one. */
  readonly verifyToken: (token: string) => Promise<void>;
}

export interface RefreshRunResult {
  /** Milliseconds per successful refresh, from the client's side. */
  readonly samples: number[];
  readonly errors: Record<string, number>;
  readonly elapsedMs: number;
  /** Each chain's refresh token at the end: still live, for a later run. */
  readonly refreshTokens: string[];
}

const REFRESH_TOKEN = /^[A-Za-z0-9_-]{43}$/;

export async function runRefreshChains(options: RefreshRunOptions): Promise<RefreshRunResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.refreshTokens.length });
  const tokenUrl = new URL('/token', options.url);
  const samples: number[] = [];
  const errors: Record<string, number> = {};
  const count = (kind: string) => (errors[kind] = (errors[kind] ?? 0) + 1);
  const started = performance.now();
  const deadline = started + options.durationMs;

  const chain = async (first: string): Promise<string> => {
    let refreshToken = first;
    let accessToken: string | undefined;
    try {
      for (let refreshes = 0; refreshes < (options.refreshesPerChain ?? Infinity) && performance.now() < deadline; refreshes++) {
        const form = `grant_type=refresh_token&refresh_token=${refreshToken}`;
        const t0 = performance.now();
        const answer = await step('refresh', post(agent, tokenUrl, form, options.timeoutMs));
        const ms = performance.now() - t0;
        if (answer.status !== 200) throw new FlowError(`refresh: HTTP ${answer.status}${problemCode(answer)}`);
        const tokens = JSON.parse(answer.body) as { access_token?: unknown; refresh_token?: unknown; token_type?: unknown };
        if (typeof tokens.refresh_token !== 'string' || !REFRESH_TOKEN.test(tokens.refresh_token) || typeof tokens.access_token !== 'string' || tokens.token_type !== 'Bearer') {
          throw new FlowError('refresh: not a token answer');
        }
        samples.push(ms);
        refreshToken = tokens.refresh_token;
        accessToken = tokens.access_token;
      }
      if (accessToken !== undefined) {
        await options.verifyToken(accessToken).catch((error: unknown) => {
          throw new FlowError(`verify: ${(error as { code?: string }).code ?? (error as Error).message}`);
        });
      }
    } catch (error) {
      count(error instanceof FlowError ? error.message : `unexpected: ${(error as Error).message}`);
    }
    return refreshToken;
  };

  try {
    const refreshTokens = await Promise.all(options.refreshTokens.map(chain));
    return { samples, errors, elapsedMs: performance.now() - started, refreshTokens };
  } finally {
    agent.destroy();
  }
}
