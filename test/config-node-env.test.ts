// NODE_ENV means production only when it is exactly `production`. A value
// that only looks like it (another case, `prod`, spaces around it) stops the
// start rather than quietly turning production's requirements off. Any other
// value (development, test, staging) is read as unset: nothing production
// requires is asked for (the Twitter app, COOKIE_SECRET, ENCRYPTION_KEY), the
// sandbox may run, and the config is the one an unset NODE_ENV gives, field
// for field.
import t from 'tap';
import { problemsOfLoading } from './helpers/config-problems.js';
import { loadConfig, loadKeysCommandConfig } from '../src/config.js';

const NOT_PRODUCTION = ['', 'development', 'test', 'staging', 'producer', 'preproduction'];
const ALMOST_PRODUCTION = ['Production', 'PRODUCTION', 'prod', 'Prod', ' production', 'production '];


t.test('production asks for the Twitter app and both secrets', async (t) => {
  const problems = problemsOfLoading(() => loadConfig({ NODE_ENV: 'production' })).join('\n');
  t.match(problems, /X keys are required when NODE_ENV=production \(the sandbox provider never runs in production\): set TWITTER_CLIENT_ID and TWITTER_CLIENT_SECRET \(OAuth 2.0\) or TWITTER_CONSUMER_KEY/);
  t.match(problems, /COOKIE_SECRET is required when NODE_ENV=production/);
  t.match(problems, /ENCRYPTION_KEY is required when NODE_ENV=production/);
  t.match(problemsOfLoading(() => loadKeysCommandConfig({ NODE_ENV: 'production' })).join('\n'), /ENCRYPTION_KEY is required when NODE_ENV=production/, 'npm run keys too');
});

t.test('a NODE_ENV that looks like production but is not exactly it stops the start', async (t) => {
  const secrets = { COOKIE_SECRET: 'c'.repeat(32), ENCRYPTION_KEY: 'ab'.repeat(32) };
  for (const nodeEnv of ALMOST_PRODUCTION) {
    const expected = `NODE_ENV=${JSON.stringify(nodeEnv)} is not production: write NODE_ENV=production exactly, or another value such as development`;
    t.same(problemsOfLoading(() => loadConfig({ NODE_ENV: nodeEnv, ...secrets })), [expected], `server: ${JSON.stringify(nodeEnv)}`);
    t.same(problemsOfLoading(() => loadKeysCommandConfig({ NODE_ENV: nodeEnv })), [expected], `npm run keys: ${JSON.stringify(nodeEnv)}`);
  }
});

t.test('every other NODE_ENV asks for none of it', async (t) => {
  for (const nodeEnv of NOT_PRODUCTION) {
    const name = `NODE_ENV=${JSON.stringify(nodeEnv)}`;
    t.same(problemsOfLoading(() => loadConfig({ NODE_ENV: nodeEnv })), [], `${name}: no Twitter app, no secrets, no return_to list needed`);
    t.same(problemsOfLoading(() => loadKeysCommandConfig({ NODE_ENV: nodeEnv })), [], `${name}: npm run keys needs no ENCRYPTION_KEY`);
  }
});

t.test('every other NODE_ENV gives the config an unset NODE_ENV gives', async (t) => {
  const unset = loadConfig({});
  t.equal(unset.production, false);
  t.equal(unset.sandbox, true, 'the sandbox runs');
  t.equal(unset.cookieSecret, undefined, 'the server generates its secrets into DATA_DIR');
  t.equal(unset.encryptionKey, undefined);
  for (const nodeEnv of NOT_PRODUCTION) {
    const config = loadConfig({ NODE_ENV: nodeEnv });
    t.equal(config.production, false, `NODE_ENV=${JSON.stringify(nodeEnv)} is not production`);
    t.same(config, unset, `NODE_ENV=${JSON.stringify(nodeEnv)}: the same config, field for field`);
  }
  const secrets = { COOKIE_SECRET: 'c'.repeat(32), ENCRYPTION_KEY: 'ab'.repeat(32) };
  for (const nodeEnv of NOT_PRODUCTION) {
    t.same(loadConfig({ NODE_ENV: nodeEnv, ...secrets }), loadConfig(secrets), `NODE_ENV=${JSON.stringify(nodeEnv)} with the secrets given`);
  }
});
