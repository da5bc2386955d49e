// The request schemas the routes validate with are derived from openapi.yaml:
// the same schemas as its components, and a change to the document is a
// change to the validation.
import t from 'tap';
import { parse, stringify } from 'yaml';
import { bodySchema, componentSchema, loadOpenApi, paramsSchema, parseOpenApi, querystringSchema, type SchemaError } from '../../src/contract/openapi.js';
import { compileRequestSchema, describeBodyError, describeQueryError } from '../../src/http/request-schemas.js';

type Node = Record<string, unknown>;
const spec = loadOpenApi();
const raw = parse(spec.text) as { paths: Record<string, Record<string, { parameters: Array<Node & { name: string; in: string; schema: Node }> }>>; components: { schemas: Record<string, Node> } };

/** An operation's documented parameter, as written. */
function parameterAsWritten(path: string, name: string): Node {
  const parameter = raw.paths[path]?.get?.parameters.find((item) => item.name === name);
  if (!parameter) throw new Error(`no ${name} at ${path}`);
  return parameter.schema;
}

/** The component as written, less its documentation: what a route must validate with. */
function asWritten(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(asWritten);
  if (value === null || typeof value !== 'object') return value;
  const result: Node = {};
  for (const [key, item] of Object.entries(value)) {
    if (key === 'description' || key === 'example' || key === 'examples') continue;
    result[key] = key === 'properties' ? Object.fromEntries(Object.entries(item as Node).map(([name, schema]) => [name, asWritten(schema)])) : asWritten(item);
  }
  return result;
}

t.test('the bodies of /token and /logout are validated with their components, as written', async (t) => {
  t.same(bodySchema(spec, '/token', 'post'), asWritten(raw.components.schemas.TokenRequest));
  t.same(bodySchema(spec, '/logout', 'post'), asWritten(raw.components.schemas.LogoutRequest));
  t.same(bodySchema(spec, '/token', 'post'), componentSchema(spec, 'TokenRequest'));
  const verifier = (bodySchema(spec, '/token', 'post').properties as Record<string, Node>).code_verifier;
  const documented = raw.components.schemas.TokenRequest?.properties as Record<string, Node>;
  t.match(verifier, { type: 'string', minLength: documented.code_verifier?.minLength, maxLength: documented.code_verifier?.maxLength, pattern: documented.code_verifier?.pattern });
  t.equal(verifier?.minLength, 43, 'RFC 7636 §4.1');
  t.equal(verifier?.maxLength, 128, 'RFC 7636 §4.1');
});

t.test('the id of DELETE /sessions/{id} is validated with SessionId, as written', async (t) => {
  t.same(paramsSchema(spec, '/sessions/{id}', 'delete'), { type: 'object', properties: { id: asWritten(raw.components.schemas.SessionId) }, required: ['id'] });
  t.same(querystringSchema(spec, '/sessions/{id}', 'delete'), { type: 'object', properties: {} }, 'it has no query parameters');
});

t.test('the query strings of /login and /login/callback are validated with their parameters, as written', async (t) => {
  t.same(querystringSchema(spec, '/login', 'get'), {
    type: 'object',
    properties: Object.fromEntries(['return_to', 'code_challenge', 'code_challenge_method', 'state'].map((name) => [name, asWritten(parameterAsWritten('/login', name))])),
    required: ['return_to'],
  });
  const oauthValue = asWritten(raw.components.schemas.OAuthValue);
  const error = asWritten(parameterAsWritten('/login/callback', 'error'));
  const errorDescription = asWritten(parameterAsWritten('/login/callback', 'error_description'));
  t.same(
    querystringSchema(spec, '/login/callback', 'get'),
    {
      type: 'object',
      properties: {
        oauth_token: oauthValue,
        oauth_verifier: oauthValue,
        denied: oauthValue,
        code: oauthValue,
        state: oauthValue,
        error,
        error_description: errorDescription,
      },
    },
    'both protocols\' parameters, none required on its own (the route checks which set came), and the cookie is not a query parameter',
  );
  t.match(oauthValue, { type: 'string', minLength: 1, maxLength: 512 });
  t.match(error, { type: 'string', pattern: '^[\\x20-\\x21\\x23-\\x5B\\x5D-\\x7E]{1,64}$' }, 'RFC 6749 §4.1.2.1: error is NQSCHAR');
  t.match(errorDescription, { type: 'string', maxLength: 1024 });

  const callback = compileRequestSchema({ schema: querystringSchema(spec, '/login/callback', 'get') });
  t.ok(callback({ code: 'c'.repeat(512), state: 's' }), 'a code of 512 characters passes');
  t.notOk(callback({ code: 'c'.repeat(513), state: 's' }), 'one of 513 does not');
  t.ok(callback({ error: 'access_denied', error_description: 'd'.repeat(1024), state: 's' }));
  t.notOk(callback({ error: 'access"denied', state: 's' }), 'a quote is not NQSCHAR');
  t.notOk(callback({ error: '', state: 's' }), 'error has at least one character');
  t.notOk(callback({ error: 'e'.repeat(65), state: 's' }));
  t.notOk(callback({ error: 'access_denied', error_description: 'd'.repeat(1025), state: 's' }));
  t.notOk(callback({ state: 's p' }), 'state is an OAuth value: no spaces');
  t.match(asWritten(parameterAsWritten('/login', 'state')), { type: 'string', minLength: 1, maxLength: 512, pattern: '^[\\x20-\\x7e]*$' }, 'RFC 6749 Appendix A.5 VSCHAR');
  t.match(asWritten(parameterAsWritten('/login', 'return_to')), { type: 'string', format: 'uri', minLength: 1, maxLength: 2048 });
});

t.test('a change to the document is a change to the query validation', async (t) => {
  const today = { login: compileRequestSchema({ schema: querystringSchema(spec, '/login', 'get') }), callback: compileRequestSchema({ schema: querystringSchema(spec, '/login/callback', 'get') }) };
  const login = (state: string) => ({ return_to: 'https://a.example/', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256', state });
  t.ok(today.login(login('s'.repeat(100))), 'a 100-character state passes the document as it is');
  t.ok(today.callback({ denied: 't'.repeat(100) }), 'so does a 100-character denied');
  t.ok(today.callback({ code: 'c'.repeat(100), state: 's' }), 'and a 100-character code');
  t.ok(today.callback({ error: 'access_denied', error_description: 'd'.repeat(100), state: 's' }), 'and a 100-character error_description');

  const edited = parse(spec.text) as typeof raw;
  const state = edited.paths['/login']?.get?.parameters.find((parameter) => parameter.name === 'state');
  const errorDescription = edited.paths['/login/callback']?.get?.parameters.find((parameter) => parameter.name === 'error_description');
  if (!state || !errorDescription) throw new Error('no state or error_description');
  state.schema.maxLength = 64;
  errorDescription.schema.maxLength = 64;
  (edited.components.schemas.OAuthValue as Node).maxLength = 64;
  const tomorrow = parseOpenApi(stringify(edited));
  const login64 = compileRequestSchema({ schema: querystringSchema(tomorrow, '/login', 'get') });
  const callback64 = compileRequestSchema({ schema: querystringSchema(tomorrow, '/login/callback', 'get') });
  t.notOk(login64(login('s'.repeat(100))), 'and fails once the document says 64');
  t.ok(login64(login('s'.repeat(64))));
  t.notOk(callback64({ denied: 't'.repeat(100) }));
  t.ok(callback64({ denied: 't'.repeat(64) }));
  t.notOk(callback64({ code: 'c'.repeat(100), state: 's' }));
  t.ok(callback64({ code: 'c'.repeat(64), state: 's' }));
  t.notOk(callback64({ error: 'access_denied', error_description: 'd'.repeat(100), state: 's' }));
  t.ok(callback64({ error: 'access_denied', error_description: 'd'.repeat(64), state: 's' }));
});

t.test('query strings are not coerced either', async (t) => {
  const validate = compileRequestSchema({ schema: querystringSchema(spec, '/login/callback', 'get') });
  for (const value of [['t'], ['t', 't'], 42, null]) {
    const query = { denied: value };
    t.notOk(validate(query), JSON.stringify(value));
    t.same(query.denied, value, 'left as it was');
  }
});

t.test('query schema failures in words', async (t) => {
  const validate = compileRequestSchema({ schema: querystringSchema(spec, '/login', 'get') });
  const detail = (query: unknown) => {
    t.notOk(validate(query));
    return describeQueryError(validate.errors as SchemaError[]);
  };
  const base = { return_to: 'https://a.example/' };
  t.equal(detail({}), 'return_to is required');
  t.equal(detail({ return_to: ['https://a.example/', 'https://a.example/'] }), 'return_to must be given once, as a string');
  t.equal(detail({ return_to: 'relative' }), 'return_to must match format "uri"');
  t.equal(detail({ ...base, code_challenge_method: 'plain' }), 'code_challenge_method must be S256');
  t.equal(detail({ ...base, state: '' }), 'state must NOT have fewer than 1 characters');
  t.equal(detail('return_to=x'), 'The query string is malformed');
  t.equal(describeQueryError([]), 'The query string is malformed');
  t.equal(describeQueryError(undefined), 'The query string is malformed');
});

t.test('a change to the document is a change to the validation', async (t) => {
  const body = (verifier: string) => ({ grant_type: 'authorization_code', code: 'c', code_verifier: verifier, redirect_uri: 'https://a/' });
  const today = compileRequestSchema({ schema: bodySchema(spec, '/token', 'post') });
  t.ok(today(body('a'.repeat(100))), 'a 100-character verifier passes the document as it is');
  t.notOk(today(body('a'.repeat(129))));

  const edited = parse(spec.text) as { components: { schemas: { TokenRequest: { properties: { code_verifier: Node } } } } };
  edited.components.schemas.TokenRequest.properties.code_verifier.maxLength = 64;
  const tomorrow = compileRequestSchema({ schema: bodySchema(parseOpenApi(stringify(edited)), '/token', 'post') });
  t.notOk(tomorrow(body('a'.repeat(100))), 'and fails once the document says 64');
  t.ok(tomorrow(body('a'.repeat(64))));
});

t.test('the validator coerces nothing and changes nothing', async (t) => {
  const validate = compileRequestSchema({ schema: bodySchema(spec, '/token', 'post') });
  for (const refreshToken of [42, true, null, ['x'], { x: 'y' }]) {
    const body = { grant_type: 'refresh_token', refresh_token: refreshToken };
    t.notOk(validate(body), JSON.stringify(refreshToken));
    t.same(body.refresh_token, refreshToken, 'left as it was');
  }
  t.ok(validate({ grant_type: 'refresh_token', refresh_token: 'x', client_id: 'ignored' }), 'unknown parameters pass');
  t.notOk(validate({ grant_type: 'password' }));
  t.notOk(validate(null));
  t.notOk(validate('grant_type=refresh_token'));
});

t.test('schema failures in words', async (t) => {
  const validate = compileRequestSchema({ schema: bodySchema(spec, '/token', 'post') });
  const detail = (body: unknown) => {
    t.notOk(validate(body));
    return describeBodyError(validate.errors as SchemaError[]);
  };
  t.equal(detail({}), 'grant_type is required');
  t.equal(detail({ grant_type: 'password' }), 'grant_type must be one of authorization_code, refresh_token');
  t.equal(detail({ grant_type: ['refresh_token', 'refresh_token'] }), 'grant_type must be given once, as a string');
  t.equal(detail({ grant_type: 'authorization_code', code_verifier: 'abc' }), 'code_verifier must NOT have fewer than 43 characters');
  t.equal(detail({ grant_type: 'authorization_code', code_verifier: `${'a'.repeat(43)}+` }), 'code_verifier must match pattern "^[A-Za-z0-9._~-]*$"');
  t.equal(detail([]), 'The body must be form-encoded or a JSON object');
  t.equal(detail(undefined), 'The body must be form-encoded or a JSON object');
  t.equal(describeBodyError([]), 'The body is malformed');
  t.equal(describeBodyError(undefined), 'The body is malformed');
});

const tiny = (paths: string, schemas = '') => `openapi: 3.1.0
info: { title: t, version: '1' }
paths:
${paths}
components:
  schemas:
    Thing:
      type: object
      properties:
        description: { type: string, maxLength: 3, description: a property named description }
        example: { type: string, example: x }
${schemas}`;

t.test('properties named like documentation keywords are kept', async (t) => {
  const thing = componentSchema(parseOpenApi(tiny('  {}')), 'Thing');
  t.same(thing, { type: 'object', properties: { description: { type: 'string', maxLength: 3 }, example: { type: 'string' } } });
});

t.test('a body every media type of which does not share one schema is refused at start', async (t) => {
  const document = parseOpenApi(
    tiny(`  /a:
    post:
      requestBody:
        content:
          application/json: { schema: { $ref: '#/components/schemas/Thing' } }
          application/x-www-form-urlencoded: { schema: { type: object } }
  /b:
    post:
      requestBody:
        content:
          application/json: { schema: { $ref: '#/components/schemas/Thing' } }
          application/x-www-form-urlencoded: { schema: { $ref: '#/components/schemas/Thing' } }
  /c:
    post: {}`),
  );
  t.throws(() => bodySchema(document, '/a', 'post'), /name different schemas/);
  t.same(bodySchema(document, '/b', 'post'), componentSchema(document, 'Thing'));
  t.throws(() => bodySchema(document, '/c', 'post'), /no request body/);
  t.throws(() => bodySchema(document, '/d', 'post'), /documents no POST \/d/);
  t.throws(() => paramsSchema(document, '/d', 'delete'), /documents no DELETE \/d/);
});
