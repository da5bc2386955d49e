import t from 'tap';
import { loadConfig } from '../src/config.js';
import { problemsOf } from './helpers/config-problems.js';

t.test('session defaults', async (t) => {
  const config = loadConfig({});
  t.equal(config.sessionTtl, 30 * 86400);
  t.equal(config.sessionIdleTtl, 7 * 86400);
  t.equal(config.refreshReuseGrace, 10);
});

t.test('a short SESSION_TTL shortens the idle default with it', async (t) => {
  const config = loadConfig({ SESSION_TTL: '3600' });
  t.equal(config.sessionTtl, 3600);
  t.equal(config.sessionIdleTtl, 3600);
});

t.test('bad session settings are named', async (t) => {
  t.match(problemsOf({ SESSION_TTL: '10' }), [/^SESSION_TTL must be a whole number from 300/]);
  t.match(problemsOf({ SESSION_IDLE_TTL: 'soon' }), [/^SESSION_IDLE_TTL must be a whole number/]);
  t.match(problemsOf({ REFRESH_REUSE_GRACE: '61' }), [/^REFRESH_REUSE_GRACE must be a whole number from 0 to 60/]);
  t.match(problemsOf({ SESSION_TTL: '3600', SESSION_IDLE_TTL: '7200' }), [/^SESSION_IDLE_TTL \(7200\) must not exceed SESSION_TTL \(3600\)/]);
  t.same(problemsOf({ SESSION_TTL: '3600', SESSION_IDLE_TTL: '600', REFRESH_REUSE_GRACE: '0' }), []);
});

t.test('session retention and purge interval', async (t) => {
  const defaults = loadConfig({});
  t.equal(defaults.sessionRetention, 7 * 86400);
  t.equal(defaults.sessionPurgeInterval, 3600);
  t.equal(loadConfig({ SESSION_RETENTION: '0' }).sessionRetention, 0, 'purge as soon as ended');
  t.equal(loadConfig({ SESSION_PURGE_INTERVAL: '0' }).sessionPurgeInterval, 0, 'no periodic purge');
  t.equal(loadConfig({ SESSION_PURGE_INTERVAL: '60' }).sessionPurgeInterval, 60);
  t.match(problemsOf({ SESSION_RETENTION: '-1' }), [/^SESSION_RETENTION must be a whole number from 0 to 31622400/]);
  t.match(problemsOf({ SESSION_RETENTION: '31622401' }), [/^SESSION_RETENTION must be a whole number from 0 to 31622400/]);
  t.match(problemsOf({ SESSION_PURGE_INTERVAL: '59' }), [/^SESSION_PURGE_INTERVAL must be 0 \(off\) or from 60 to 86400 seconds \(got "59"\)/]);
  t.match(problemsOf({ SESSION_PURGE_INTERVAL: '86401' }), [/^SESSION_PURGE_INTERVAL must be a whole number from 0 to 86400/]);
  t.match(problemsOf({ SESSION_PURGE_INTERVAL: 'hourly' }), [/^SESSION_PURGE_INTERVAL must be a whole number/]);
});
