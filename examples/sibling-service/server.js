// A sibling service that trusts roost's tokens, with node:http and jose only.
// GET /hello answers 200 for a valid roost access token and 401 for anything
// else. It never calls roost per request: jose fetches roost's public keys,
// caches them, and fetches again only for a key id it has not seen (rotation).
// The rules it follows are in docs/verifying-tokens.md.
//
//   JWT_AUDIENCE=hello-api npm start                                      # roost
//   ROOST_URL=http://localhost:3000 AUDIENCE=hello-api node examples/sibling-service/server.js
//   curl -H "Authorization: Bearer $TOKEN" http://localhost:4000/hello
import { createServer } from 'node:http';
import { createRemoteJWKSet, errors, jwtVerify } from 'jose';

// roost's PUBLIC_URL: the tokens' issuer and where its keys are published.
const issuer = (process.env.ROOST_URL ?? 'http://localhost:3000').replace(/\/+$/, '');
// The JWT_AUDIENCE roost runs with: a token meant for another service is refused.
const audience = process.env.AUDIENCE;
// The JWT_ALG roost signs with; a token that names another algorithm is refused.
const algorithm = process.env.JWT_ALG ?? 'ES256';
const port = Number(process.env.PORT ?? 4000);
if (!audience) {
  console.error('AUDIENCE is required: the JWT_AUDIENCE roost runs with, e.g. AUDIENCE=hello-api');
  process.exit(1);
}

const jwks = createRemoteJWKSet(new URL(`${issuer}/.well-known/jwks.json`), {
  cacheMaxAge: 5 * 60_000, // roost's JWKS_MAX_AGE
  cooldownDuration: 30_000, // at most one refetch per 30 s for unknown kids
});

async function userFrom(authorization) {
  const token = /^Bearer +([A-Za-z0-9._~+/-]+=*)$/i.exec(authorization ?? '')?.[1];
  if (!token) return undefined;
  const { payload } = await jwtVerify(token, jwks, {
    issuer,
    audience,
    algorithms: [algorithm], // never what the token's header asks for (RFC 8725 §3.1)
    typ: 'at+jwt', // an access token, not some other JWT from the same keys (RFC 9068 §4)
    clockTolerance: 30,
  });
  return payload;
}

/**
 * Why a token was refused, in words for the log and the client: the
 * failures that are the token's fault. Anything else (roost unreachable, a
 * bad key set) is not, and gets undefined.
 */
function whyRefused(error) {
  if (error instanceof errors.JWTExpired) return 'the token has expired';
  // Checked in order: the first claim that fails is named (iss, aud, typ…), never its value.
  if (error instanceof errors.JWTClaimValidationFailed) return `the token's ${error.claim} claim is not accepted (${error.reason})`;
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'the signature does not match';
  if (error instanceof errors.JWKSNoMatchingKey) return "the token's key is not one roost publishes";
  if (error instanceof errors.JWKSMultipleMatchingKeys) return "the token's key id matches more than one published key";
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) return `the token's algorithm is not ${algorithm}`;
  if (error instanceof errors.JWTInvalid || error instanceof errors.JWSInvalid) return 'the token is not a well-formed signed JWT';
  return undefined;
}

function send(response, status, body, headers = {}) {
  response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers }).end(JSON.stringify(body));
}

const server = createServer(async (request, response) => {
  if (request.method !== 'GET' || request.url !== '/hello') return send(response, 404, { error: 'not_found' });
  let user;
  try {
    user = await userFrom(request.headers.authorization);
  } catch (error) {
    const why = whyRefused(error);
    if (why) {
      // The reason, never the token: a log is read by more people than the token is meant for.
      console.error(`hello-api: refused a token: ${why}`);
      return send(response, 401, { error: 'invalid_token', error_description: why }, {
        'www-authenticate': `Bearer realm="hello-api", error="invalid_token", error_description="${why.replace(/["\\]/g, '')}"`,
      });
    }
    // roost's keys could not be fetched: that says nothing about the token. Fail closed, as unavailable.
    console.error(`hello-api: cannot check tokens: ${error.message}`);
    return send(response, 503, { error: 'keys_unavailable' });
  }
  // RFC 6750 §3.1: a request without credentials gets the challenge but no error code.
  if (!user) return send(response, 401, { error: 'unauthorized' }, { 'www-authenticate': 'Bearer realm="hello-api"' });
  return send(response, 200, { hello: user.screen_name, sub: user.sub });
});

server.listen(port, '127.0.0.1', () => console.log(`hello-api listening on http://127.0.0.1:${server.address().port}, trusting ${issuer}`));
process.on('SIGTERM', () => server.close());
