// The logger: what every line carries, and its second line of defence:
// secret headers are censored wherever roost could log a header object, and
// nothing else is touched. (logs.test.ts and log-leaks.test.ts check what the
// running service writes.)
import { Writable } from 'node:stream';
import t from 'tap';
import type { LogLevel } from '../../src/config.js';
import { createLogger, pathOf } from '../../src/ops/logger.js';

function capture(level: LogLevel = 'info') {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger(level, sink), lines };
}

const SECRET = 'Bearer eyJ.secret.token';
const secretHeaders = () => ({ authorization: SECRET, cookie: 'roost_flow=secret', 'set-cookie': 'roost_flow=secret', location: 'https://app.example/#access_token=secret', accept: 'text/html' });

t.test('secret headers are censored at the top level, in headers, and under every holder', async (t) => {
  const { logger, lines } = capture();
  logger.info({ authorization: SECRET, cookie: 'a=b', headers: secretHeaders() }, 'top');
  for (const holder of ['req', 'res', 'request', 'response', 'err', 'error']) {
    logger.info({ [holder]: { authorization: SECRET, cookie: 'a=b', headers: secretHeaders(), kept: 'yes' } }, holder);
  }
  const text = JSON.stringify(lines);
  t.notMatch(text, /secret/, 'no secret value reached a line');
  t.match(lines[0], { authorization: '[redacted]', cookie: '[redacted]', headers: { authorization: '[redacted]', cookie: '[redacted]', 'set-cookie': '[redacted]', location: '[redacted]', accept: 'text/html' } });
  // req, res and err have serializers that keep only a few fields; the other holders keep their shape.
  for (const line of lines.filter((entry) => ['request', 'response', 'error'].includes(String(entry.msg)))) {
    const value = line[String(line.msg)];
    t.match(value, { authorization: '[redacted]', cookie: '[redacted]', kept: 'yes', headers: { authorization: '[redacted]', accept: 'text/html' } }, String(line.msg));
  }
  t.equal(lines.length, 7);
});

t.test('an error carrying headers is logged without them', async (t) => {
  const { logger, lines } = capture();
  const error = Object.assign(new Error('upstream refused'), { headers: { authorization: SECRET, 'x-rate-limit': '0' } });
  logger.error({ err: error }, 'failed');
  t.match(lines[0], { err: { type: 'Error', message: 'upstream refused' } });
  t.notMatch(JSON.stringify(lines), /secret/);
  t.equal((error.headers as Record<string, string>).authorization, SECRET, 'the logged object itself is not changed');
});

t.test('every line names the service and nothing of the host, from the level given up', async (t) => {
  const { logger, lines } = capture('warn');
  logger.info('below the level');
  logger.warn('kept');
  logger.child({ reqId: 'abc' }).error('kept too');
  t.same(lines.map((line) => line.msg), ['kept', 'kept too'], 'LOG_LEVEL=warn drops info');
  t.match(lines, [{ service: 'roost', level: 40 }, { service: 'roost', reqId: 'abc', level: 50 }]);
  t.ok(lines.every((line) => !('pid' in line) && !('hostname' in line)), 'no pid or hostname: the platform labels lines with its own');
});

t.test('req and res are reduced by their serializers', async (t) => {
  const { logger, lines } = capture();
  logger.info({ req: { method: 'GET', url: '/login/callback?oauth_verifier=secret', headers: secretHeaders() }, res: { statusCode: 302, headers: secretHeaders() } }, 'x');
  t.same(lines[0]?.req, { method: 'GET', path: '/login/callback' });
  t.same(lines[0]?.res, { status: 302 });
});

t.test('pathOf drops the query', async (t) => {
  t.equal(pathOf('/login/callback?oauth_token=a&oauth_verifier=b'), '/login/callback');
  t.equal(pathOf('/me'), '/me');
  t.equal(pathOf(undefined), undefined);
});
