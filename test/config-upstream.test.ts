import t from 'tap';
import { loadConfig, SANDBOX_AUTHORIZE_PATH, SANDBOX_CLIENT_ID, SANDBOX_CONSUMER_KEY } from '../src/config.js';
import { problemsOf } from './helpers/config-problems.js';

const APP = { RETURN_TO_URLS: 'https://app.example.com/cb' };
const V1 = { TWITTER_CONSUMER_KEY: 'consumer-key', TWITTER_CONSUMER_SECRET: 'consumer-secret' };
const V2 = { TWITTER_CLIENT_ID: 'client-id', TWITTER_CLIENT_SECRET: 'client-secret' };

t.test('each pair of X keys selects its protocol', async (t) => {
  const oauth1 = loadConfig({ ...APP, ...V1 });
  t.equal(oauth1.twitter.protocol, 'oauth1');
  t.equal(oauth1.twitter.consumerKey, 'consumer-key');
  t.equal(oauth1.sandbox, false);
  const oauth2 = loadConfig({ ...APP, ...V2 });
  t.equal(oauth2.twitter.protocol, 'oauth2');
  t.equal(oauth2.twitter.clientId, 'client-id');
  t.equal(oauth2.twitter.clientSecret, 'client-secret');
  t.equal(oauth2.twitter.apiUrl, 'https://api.x.com');
  t.equal(oauth2.twitter.authorizeUrl, 'https://x.com/i/oauth2/authorize');
  t.equal(oauth2.sandbox, false);
});

t.test('both pairs need TWITTER_PROTOCOL to say which one signs in', async (t) => {
  t.match(problemsOf({ ...APP, ...V1, ...V2 }).join('\n'), /TWITTER_CLIENT_ID and TWITTER_CONSUMER_KEY are both set: set TWITTER_PROTOCOL=oauth2 or TWITTER_PROTOCOL=oauth1/);
  t.equal(loadConfig({ ...APP, ...V1, ...V2, TWITTER_PROTOCOL: 'oauth2' }).twitter.protocol, 'oauth2');
  t.equal(loadConfig({ ...APP, ...V1, ...V2, TWITTER_PROTOCOL: 'oauth1' }).twitter.protocol, 'oauth1');
  t.match(problemsOf({ ...APP, ...V1, ...V2, TWITTER_PROTOCOL: 'OAuth2' }).join('\n'), /TWITTER_PROTOCOL must be oauth2 or oauth1 \(got "OAuth2"\)/);
});

t.test('TWITTER_PROTOCOL cannot pick a protocol whose keys are missing', async (t) => {
  t.match(problemsOf({ ...APP, ...V1, TWITTER_PROTOCOL: 'oauth2' }).join('\n'), /TWITTER_PROTOCOL=oauth2 needs TWITTER_CLIENT_ID and TWITTER_CLIENT_SECRET/);
  t.match(problemsOf({ ...APP, ...V2, TWITTER_PROTOCOL: 'oauth1' }).join('\n'), /TWITTER_PROTOCOL=oauth1 needs TWITTER_CONSUMER_KEY and TWITTER_CONSUMER_SECRET/);
});

t.test('a half pair is refused, naming the missing half', async (t) => {
  t.match(problemsOf({ ...APP, TWITTER_CLIENT_ID: 'id' }).join('\n'), /TWITTER_CLIENT_SECRET is required when TWITTER_CLIENT_ID is set/);
  t.match(problemsOf({ ...APP, TWITTER_CLIENT_SECRET: 's' }).join('\n'), /TWITTER_CLIENT_SECRET is set but TWITTER_CLIENT_ID is not/);
  t.match(problemsOf({ ...APP, TWITTER_CONSUMER_KEY: 'k' }).join('\n'), /TWITTER_CONSUMER_SECRET is required when TWITTER_CONSUMER_KEY is set/);
});

t.test('the sandbox speaks OAuth 1.0a unless TWITTER_PROTOCOL=oauth2 asks', async (t) => {
  const plain = loadConfig({});
  t.equal(plain.sandbox, true);
  t.equal(plain.twitter.protocol, 'oauth1');
  t.equal(plain.twitter.consumerKey, SANDBOX_CONSUMER_KEY);
  const oauth2 = loadConfig({ TWITTER_PROTOCOL: 'oauth2' });
  t.equal(oauth2.sandbox, true);
  t.equal(oauth2.twitter.protocol, 'oauth2');
  t.equal(oauth2.twitter.clientId, SANDBOX_CLIENT_ID);
  t.equal(oauth2.twitter.authorizeUrl, 'http://localhost:3000/sandbox/twitter/i/oauth2/authorize');
  t.equal(oauth2.twitter.apiUrl, 'http://localhost:3000/sandbox/twitter');
  t.match(problemsOf({ TWITTER_AUTHORIZE_URL: 'https://x.example/authorize' }).join('\n'), /TWITTER_AUTHORIZE_URL needs X keys/);
  t.match(problemsOf({ SANDBOX: 'true', ...V2 }).join('\n'), /SANDBOX=true and TWITTER_CLIENT_ID are both set/);
});

t.test('TWITTER_AUTHORIZE_URL is taken with OAuth 2.0 keys and refused without them', async (t) => {
  const config = loadConfig({ ...APP, ...V2, TWITTER_AUTHORIZE_URL: 'http://127.0.0.1:9/i/oauth2/authorize/' });
  t.equal(config.twitter.authorizeUrl, 'http://127.0.0.1:9/i/oauth2/authorize');
  t.match(problemsOf({ ...APP, ...V1, TWITTER_AUTHORIZE_URL: 'https://x.example/a' }).join('\n'), /TWITTER_AUTHORIZE_URL is used only by OAuth 2.0/);
  t.match(problemsOf({ ...APP, ...V2, TWITTER_AUTHORIZE_URL: 'not a url' }).join('\n'), /TWITTER_AUTHORIZE_URL/);
});

t.test('TWITTER_EMAIL is off, optional or required; optional by default', async (t) => {
  t.equal(loadConfig({}).twitter.email, 'optional');
  for (const mode of ['off', 'optional', 'required'] as const) t.equal(loadConfig({ TWITTER_EMAIL: mode }).twitter.email, mode);
  t.match(problemsOf({ TWITTER_EMAIL: 'yes' }).join('\n'), /TWITTER_EMAIL must be one of off, optional, required \(got "yes"\)/);
});

t.test("the sandbox's authorize page is where the configuration sends browsers", async (t) => {
  const { OAUTH2_PATHS } = await import('../src/sandbox/provider.js');
  t.equal(SANDBOX_AUTHORIZE_PATH, OAUTH2_PATHS.authorize);
});
