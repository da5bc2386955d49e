// Drives complete browser sign-ins, as many at once as asked, for a fixed
// time: GET /login → the provider's authenticate URL → roost's callback →
// the token in the fragment, verified. Each virtual browser starts every
// sign-in with an empty cookie jar and reuses keep-alive connections, as a
// browser does. Timings are per step, from the browser's side.
import { Agent, request, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';

export interface FlowRunOptions {
  readonly roostUrl: string;
  readonly providerUrl: string;
  /** Where the app wants its user back; must be one of roost's RETURN_TO_URLS. */
  readonly returnTo: string;
  readonly concurrency: number;
  readonly durationMs: number;
  /** Per request; a slower answer counts as a timeout error. */
  readonly timeoutMs: number;
  /** Rejects when the token is not one roost should have issued. */
  readonly verifyToken: (token: string) => Promise<void>;
}

/** One complete sign-in, in milliseconds per step. */
export interface FlowSample {
  /** GET /login, including roost's request_token call to the provider. */
  readonly login: number;
  /** The browser at the provider's authenticate URL. */
  readonly authenticate: number;
  /** GET /login/callback, including roost's access_token and verify_credentials calls. */
  readonly callback: number;
  /** The app verifying the token against the JWKS. */
  readonly verify: number;
  readonly total: number;
  /** The request token, which keys the provider's own timings of this flow. */
  readonly requestToken: string;
  readonly accessToken: string;
}

export interface FlowRunResult {
  readonly samples: FlowSample[];
  /** Failed sign-ins by kind, e.g. "callback: HTTP 503 store_unavailable". */
  readonly errors: Record<string, number>;
  /** From the first start to the last sign-in's end. */
  readonly elapsedMs: number;
}

interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

class FlowError extends Error {}

export async function runFlows(options: FlowRunOptions): Promise<FlowRunResult> {
  const roostAgent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  const providerAgent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  const loginUrl = new URL(`/login?return_to=${encodeURIComponent(options.returnTo)}`, options.roostUrl);
  const authenticatePrefix = `${options.providerUrl}/oauth/authenticate?`;
  const callbackPrefix = `${options.roostUrl}/login/callback?`;
  const samples: FlowSample[] = [];
  const errors: Record<string, number> = {};
  const started = performance.now();
  const deadline = started + options.durationMs;

  const oneFlow = async (): Promise<FlowSample> => {
    const t0 = performance.now();
    const login = await step('login', get(roostAgent, loginUrl, {}, options.timeoutMs));
    const t1 = performance.now();
    if (login.status !== 302) throw new FlowError(`login: HTTP ${login.status}${problemCode(login)}`);
    const toProvider = login.headers.location ?? '';
    if (!toProvider.startsWith(authenticatePrefix)) throw new FlowError('login: redirect is not to the provider');
    const cookie = flowCookie(login.headers['set-cookie']);
    if (cookie === undefined) throw new FlowError('login: no roost_flow cookie');
    const authenticateUrl = new URL(toProvider);
    const requestToken = authenticateUrl.searchParams.get('oauth_token') ?? '';

    const authenticate = await step('authenticate', get(providerAgent, authenticateUrl, {}, options.timeoutMs));
    const t2 = performance.now();
    const toCallback = authenticate.headers.location ?? '';
    if (authenticate.status !== 302 || !toCallback.startsWith(callbackPrefix)) {
      throw new FlowError(`authenticate: HTTP ${authenticate.status}`);
    }

    const callback = await step('callback', get(roostAgent, new URL(toCallback), { cookie }, options.timeoutMs));
    const t3 = performance.now();
    if (callback.status !== 302) throw new FlowError(`callback: HTTP ${callback.status}${problemCode(callback)}`);
    const toApp = callback.headers.location ?? '';
    if (!toApp.startsWith(`${options.returnTo}#`)) throw new FlowError('callback: redirect is not to return_to');
    const fragment = new URLSearchParams(toApp.slice(toApp.indexOf('#') + 1));
    const accessToken = fragment.get('access_token');
    if (accessToken === null || fragment.get('token_type') !== 'Bearer') throw new FlowError(`callback: no token (${fragment.get('error') ?? 'no error'})`);

    try {
      await options.verifyToken(accessToken);
    } catch (error) {
      throw new FlowError(`verify: ${(error as { code?: string }).code ?? (error as Error).message}`);
    }
    const t4 = performance.now();
    return { login: t1 - t0, authenticate: t2 - t1, callback: t3 - t2, verify: t4 - t3, total: t4 - t0, requestToken, accessToken };
  };

  const browser = async () => {
    while (performance.now() < deadline) {
      try {
        samples.push(await oneFlow());
      } catch (error) {
        const kind = error instanceof FlowError ? error.message : `unexpected: ${(error as Error).message}`;
        errors[kind] = (errors[kind] ?? 0) + 1;
        // Do not spin when roost or the provider is refusing connections.
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
  };

  try {
    await Promise.all(Array.from({ length: options.concurrency }, browser));
  } finally {
    roostAgent.destroy();
    providerAgent.destroy();
  }
  return { samples, errors, elapsedMs: performance.now() - started };
}

/** Turns a transport failure into an error kind named after its step. */
async function step(name: string, pending: Promise<Answer>): Promise<Answer> {
  try {
    return await pending;
  } catch (error) {
    throw new FlowError(`${name}: ${(error as { code?: string }).code ?? (error as Error).message}`);
  }
}

function get(agent: Agent, url: URL, headers: OutgoingHttpHeaders, timeoutMs: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const outgoing = request({ agent, host: url.hostname, port: url.port, path: `${url.pathname}${url.search}`, method: 'GET', headers }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
      response.on('error', reject);
    });
    outgoing.setTimeout(timeoutMs, () => outgoing.destroy(Object.assign(new Error('timeout'), { code: 'timeout' })));
    outgoing.on('error', reject);
    outgoing.end();
  });
}

/** The `name=value` part of the roost_flow Set-Cookie, as a browser would send it back. */
function flowCookie(setCookie: string[] | undefined): string | undefined {
  const line = setCookie?.find((value) => value.startsWith('roost_flow='));
  return line?.split(';', 1)[0];
}

function problemCode(answer: Answer): string {
  try {
    const code = (JSON.parse(answer.body) as { code?: unknown }).code;
    return typeof code === 'string' ? ` ${code}` : '';
  } catch {
    return '';
  }
}
