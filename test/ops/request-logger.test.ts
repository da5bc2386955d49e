// A request's logger: the same lines a pino child with the request's
// bindings writes, byte for byte but the time, and no child made for a
// request that logs only its closing line.
import t from 'tap';
import type { Logger } from 'pino';
import type { LogLevel } from '../../src/config.js';
import { createLogger, RequestLogger } from '../../src/ops/logger.js';

/** `counted`: count the children made of the logger (pino's own children inherit the counting child(), so the lines to compare with come from one not counted). */
function capture(level: LogLevel = 'info', counted = true) {
  const raw: string[] = [];
  const logger = createLogger(level, { write: (line: string) => void raw.push(line) });
  let children = 0;
  if (counted) {
    const child = logger.child.bind(logger);
    logger.child = ((...args: Parameters<Logger['child']>) => {
      children += 1;
      return child(...args);
    }) as Logger['child'];
  }
  return { logger, raw, children: () => children };
}

const withoutTime = (line: string | undefined) => line?.replace(/"time":\d+,/, '');
const LINE = { method: 'GET', route: '/me', path: '/me', status: 200, ms: 1.2 };

t.test('the request line: a pino child’s line, with no child made', async (t) => {
  const lazy = capture();
  new RequestLogger(lazy.logger, { reqId: 'r-1' }).requestLine({ ...LINE }, 'request');
  const real = capture('info', false);
  real.logger.child({ reqId: 'r-1' }).info({ ...LINE }, 'request');
  t.equal(withoutTime(lazy.raw[0]), withoutTime(real.raw[0]));
  t.match(JSON.parse(lazy.raw[0] as string), { level: 30, service: 'roost', reqId: 'r-1', method: 'GET', status: 200, msg: 'request' });
  t.equal(lazy.children(), 0, 'no child logger');
});

t.test('bindings added by a route come after the request id, as a pino grandchild’s do', async (t) => {
  const lazy = capture();
  const log = new RequestLogger(lazy.logger, { reqId: 'r-2' }).child({ userId: 'u-1' }) as RequestLogger;
  log.requestLine({ ...LINE }, 'request');
  const real = capture('info', false);
  real.logger.child({ reqId: 'r-2' }).child({ userId: 'u-1' }).info({ ...LINE }, 'request');
  t.equal(withoutTime(lazy.raw[0]), withoutTime(real.raw[0]));
  t.ok((lazy.raw[0] as string).indexOf('"reqId"') < (lazy.raw[0] as string).indexOf('"userId"'));
  t.equal(lazy.children(), 0);
});

t.test('a line logged through it makes the child once, and the request line then comes from that child', async (t) => {
  const lazy = capture();
  const log = new RequestLogger(lazy.logger, { reqId: 'r-3' });
  log.info({ code: 'invalid_token' }, 'request refused');
  log.warn('a warning');
  log.requestLine({ ...LINE, status: 401 }, 'request');
  const real = capture('info', false);
  const child = real.logger.child({ reqId: 'r-3' });
  child.info({ code: 'invalid_token' }, 'request refused');
  child.warn('a warning');
  child.info({ ...LINE, status: 401 }, 'request');
  t.same(lazy.raw.map(withoutTime), real.raw.map(withoutTime));
  t.equal(lazy.children(), 1);
});

t.test('levels: what the level turns off is neither written nor makes a child', async (t) => {
  const lazy = capture('warn');
  const log = new RequestLogger(lazy.logger, { reqId: 'r-4' });
  log.info('dropped');
  log.debug('dropped');
  log.requestLine({ ...LINE }, 'request');
  t.equal(lazy.raw.length, 0);
  t.equal(lazy.children(), 0);
  t.equal(log.level, 'warn');
  t.notOk(log.isLevelEnabled('info'));
  log.error({ code: 'internal_error' }, 'request failed');
  t.equal(lazy.raw.length, 1);
  t.match(JSON.parse(lazy.raw[0] as string), { level: 50, reqId: 'r-4', code: 'internal_error' });
  log.level = 'debug';
  log.debug('now written');
  t.equal(lazy.raw.length, 2, 'a level set on it applies to it');
});

t.test('secrets are censored through it as through the logger', async (t) => {
  const lazy = capture();
  const log = new RequestLogger(lazy.logger, { reqId: 'r-5' });
  log.info({ headers: { authorization: 'Bearer secret.token', accept: '*/*' } }, 'headers');
  log.requestLine({ authorization: 'Bearer secret.token', ...LINE }, 'request');
  const text = lazy.raw.join('');
  t.notMatch(text, /secret\.token/);
  t.match(text, /\[redacted\]/);
});

t.test('whatever the path holds, the line is the one pino writes', async (t) => {
  const paths = ['/me', '/a"b\\c', '/tab\there/nl\nx', '/é/ünï/€/😀', `/${'x'.repeat(200)}`, '/\u2028\u2029', '/\u0000\u001f\u007f'];
  for (const [index, path] of paths.entries()) {
    const lazy = capture();
    (new RequestLogger(lazy.logger, { reqId: 'r-6' }).child({ userId: 'u"1' }) as RequestLogger).requestLine({ ...LINE, path, ms: 0.1 + 0.2 }, 'request');
    const real = capture('info', false);
    real.logger.child({ reqId: 'r-6' }).child({ userId: 'u"1' }).info({ ...LINE, path, ms: 0.1 + 0.2 }, 'request');
    t.equal(withoutTime(lazy.raw[0]), withoutTime(real.raw[0]), `path ${index}`);
    t.same(JSON.parse(lazy.raw[0] as string).path, path, `path ${index} parses back`);
  }
});

t.test('what the direct line cannot write goes through pino: the same line, secrets censored', async (t) => {
  const cases: Array<[string, Record<string, unknown>, Record<string, unknown>]> = [
    ['a binding pino censors', { reqId: 'r-7', authorization: 'Bearer secret.token' }, { ...LINE }],
    ['a field pino serializes', { reqId: 'r-7' }, { ...LINE, err: new Error('boom') }],
    ['a number JSON has not', { reqId: 'r-7' }, { ...LINE, ms: Number.NaN }],
    ['an object', { reqId: 'r-7' }, { ...LINE, extra: { a: 1 } }],
    ['a key to quote', { reqId: 'r-7' }, { ...LINE, 'odd-key': 'x' }],
  ];
  for (const [what, fields, line] of cases) {
    const lazy = capture();
    new RequestLogger(lazy.logger, fields).requestLine(line, 'request');
    const real = capture('info', false);
    real.logger.child(fields).info(line, 'request');
    t.equal(withoutTime(lazy.raw[0])?.replace(/"stack":"[^"]*"/, ''), withoutTime(real.raw[0])?.replace(/"stack":"[^"]*"/, ''), what);
    t.notMatch(lazy.raw[0], /secret\.token/, `${what}: nothing secret`);
  }
});

t.test('a logger with a mixin is left to pino', async (t) => {
  const raw: string[] = [];
  const mixed = (await import('pino')).pino({ base: { service: 'roost' }, mixin: () => ({ extra: 1 }) }, { write: (line: string) => void raw.push(line) });
  new RequestLogger(mixed, { reqId: 'r-8' }).requestLine({ ...LINE }, 'request');
  t.match(JSON.parse(raw[0] as string), { extra: 1, reqId: 'r-8', status: 200 });
});
