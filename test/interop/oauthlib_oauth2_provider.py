#!/usr/bin/python3
"""A strict, independent stand-in for X's OAuth 2.0, built on oauthlib's own
RFC 6749 server (WebApplicationServer: the Authorization Code grant, Bearer
tokens, RFC 7009 revocation) with a strict request validator.

It is not part of roost: roost's tests point roost's OAuth 2.0 client at it
to show that the client speaks OAuth 2.0 with PKCE the way another
implementation understands it, not merely the way roost's own code does.

Usage:
    /usr/bin/python3 oauthlib_oauth2_provider.py [PORT] [CLIENT_ID] [CLIENT_SECRET]

PORT defaults to 0 (any free port). The client credentials default to the
environment variables INTEROP_CLIENT_ID and INTEROP_CLIENT_SECRET.
INTEROP_CALLBACK_PATTERN (a regular expression, full match) lists the
redirect URIs the "registered app" allows; the default allows any loopback
http://127.0.0.1:<port>/login/callback. INTEROP_CODE_LIFETIME is how long an
authorization code lives, in seconds (default 30, as at X).

The first line on stdout is the port it listens on (127.0.0.1 only).

Routes (X's):
    GET  /i/oauth2/authorize   (auto-approves; 302 to the redirect_uri with code and state)
    POST /2/oauth2/token       (grant_type=authorization_code only, PKCE S256 required)
    GET  /2/users/me           (Bearer token; user.fields as at X)
    POST /2/oauth2/revoke      (RFC 7009)

What it insists on:
    - client authentication by HTTP Basic only (RFC 6749 §2.3.1: id and secret
      each form-encoded, then base64), never client_secret in the body; a
      client_id in the body must be the Basic one;
    - PKCE with S256 (plain is refused), state present;
    - the redirect_uri registered, and identical at the token endpoint;
    - codes used once (a second use also revokes the tokens of the first,
      RFC 6749 §4.1.2), bound to the client, and expiring;
    - form-encoded bodies; no refresh tokens (no offline.access).

Every refusal carries the header X-Interop-Reason naming the check that
failed, and a line "provider: refused <METHOD> <path>: <reason>" on stderr.
Every success writes one line on stderr too, "provider: <what> ...", so a
test can see what the client asked for (scopes, user fields).
"""

import base64
import binascii
import hmac
import json
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote_plus, urlsplit

from oauthlib.oauth2 import RequestValidator, WebApplicationServer
from oauthlib.oauth2.rfc6749 import errors

# id > 2^53: a client that turns the id into a number gets it wrong.
USER = {
    'id': '9007199254740993',
    'name': 'Interop User',
    'username': 'oauthlib_interop',
    'profile_image_url': 'https://pbs.twimg.com/profile_images/1/interop_normal.png',
    'confirmed_email': 'interop@example.test',
}
USER_FIELDS = ('id', 'name', 'username', 'profile_image_url', 'confirmed_email', 'created_at', 'description', 'verified')
SCOPES = ('tweet.read', 'users.read', 'users.email')
REQUIRED_FOR_ME = ['tweet.read', 'users.read']
ACCESS_TOKEN_LIFETIME = 7200
S256_CHALLENGE = re.compile(r'[A-Za-z0-9_-]{43}')
VERIFIER = re.compile(r'[A-Za-z0-9._~-]{43,128}')

UNAUTHORIZED = json.dumps({'title': 'Unauthorized', 'type': 'about:blank', 'status': 401, 'detail': 'Unauthorized'}).encode()


class Client:
    def __init__(self, client_id):
        self.client_id = client_id


class StrictValidator(RequestValidator):
    """Every check oauthlib delegates to the provider, done strictly.

    State is in memory, guarded by one lock. Reasons for refusals are kept per
    thread (ThreadingHTTPServer serves each request on its own thread).
    """

    def __init__(self, client_id, client_secret, callback_pattern, code_lifetime):
        super().__init__()
        self.client_id = client_id
        self.client_secret = client_secret
        self.callback_pattern = re.compile(callback_pattern)
        self.code_lifetime = code_lifetime
        self.lock = threading.Lock()
        # code -> {client_id, redirect_uri, scopes, user, challenge, method, expires, used, tokens}
        self.codes = {}
        # access token -> {client_id, user, scopes, expires}
        self.tokens = {}
        self.local = threading.local()

    # --- refusal reasons -------------------------------------------------
    def reset(self):
        self.local.reasons = []

    def refuse(self, reason):
        self.local.reasons.append(reason)
        return False

    @property
    def reasons(self):
        return list(getattr(self.local, 'reasons', []))

    # --- clients -------------------------------------------------------------
    def client_authentication_required(self, request, *args, **kwargs):
        return True  # a confidential client, always

    def authenticate_client(self, request, *args, **kwargs):
        header = request.headers.get('Authorization', '')
        if not header.startswith('Basic '):
            return self.refuse('client_auth_not_basic')
        if 'client_secret' in dict(request.decoded_body or []):
            return self.refuse('client_secret_in_body')  # §2.3: one authentication method only
        try:
            decoded = base64.b64decode(header[len('Basic '):], validate=True).decode('utf-8')
        except (binascii.Error, UnicodeDecodeError):
            return self.refuse('client_auth_malformed')
        if decoded.count(':') != 1:
            # §2.3.1: the id and the secret are form-encoded first, so exactly one ':' is left.
            return self.refuse('client_auth_not_form_encoded')
        raw_id, raw_secret = decoded.split(':')
        client_id, secret = unquote_plus(raw_id), unquote_plus(raw_secret)
        if not hmac.compare_digest(client_id.encode(), self.client_id.encode()):
            return self.refuse('client_id')
        if not hmac.compare_digest(secret.encode(), self.client_secret.encode()):
            return self.refuse('client_secret')
        if request.client_id is not None and request.client_id != client_id:
            return self.refuse('client_id_in_body_differs')
        request.client = Client(client_id)
        request.client_id = client_id
        return True

    def authenticate_client_id(self, client_id, request, *args, **kwargs):
        return self.refuse('public_client')

    def validate_client_id(self, client_id, request, *args, **kwargs):
        return client_id == self.client_id or self.refuse('client_id')

    # --- authorization requests ---------------------------------------------
    def validate_redirect_uri(self, client_id, redirect_uri, request, *args, **kwargs):
        parts = urlsplit(redirect_uri)
        if parts.scheme not in ('http', 'https') or parts.fragment or not self.callback_pattern.fullmatch(redirect_uri):
            return self.refuse('redirect_uri_not_registered')
        return True

    def get_default_redirect_uri(self, client_id, request, *args, **kwargs):
        return None  # redirect_uri is required

    def validate_response_type(self, client_id, response_type, client, request, *args, **kwargs):
        return response_type == 'code' or self.refuse('response_type')

    def get_default_scopes(self, client_id, request, *args, **kwargs):
        return []

    def validate_scopes(self, client_id, scopes, client, request, *args, **kwargs):
        if not scopes:
            return self.refuse('scope_missing')
        unknown = [scope for scope in scopes if scope not in SCOPES]
        return not unknown or self.refuse('scope_unknown: ' + ' '.join(unknown))

    def is_pkce_required(self, client_id, request):
        return True

    def save_authorization_code(self, client_id, code, request, *args, **kwargs):
        with self.lock:
            self.codes[code['code']] = {
                'client_id': client_id,
                'redirect_uri': request.redirect_uri,
                'scopes': list(request.scopes),
                'user': request.user,
                'challenge': request.code_challenge,
                'method': request.code_challenge_method,
                'expires': time.monotonic() + self.code_lifetime,
                'used': False,
                'tokens': [],
            }

    # --- token requests --------------------------------------------------------
    def validate_grant_type(self, client_id, grant_type, client, request, *args, **kwargs):
        return grant_type == 'authorization_code' or self.refuse('grant_type')

    def validate_code(self, client_id, code, client, request, *args, **kwargs):
        with self.lock:
            entry = self.codes.get(code)
            if entry is None:
                return self.refuse('code_unknown')
            if entry['used']:
                # §4.1.2: a code used twice revokes what the first use got.
                for token in entry['tokens']:
                    self.tokens.pop(token, None)
                return self.refuse('code_replayed')
            # Taken at the first attempt, right or wrong: no second try at a verifier.
            entry['used'] = True
        if time.monotonic() > entry['expires']:
            return self.refuse('code_expired')
        if entry['client_id'] != client_id:
            return self.refuse('code_not_owned')
        request.user = entry['user']
        request.scopes = entry['scopes']
        request.code_entry = entry
        return True

    def get_code_challenge(self, code, request):
        with self.lock:
            entry = self.codes.get(code)
        return entry['challenge'] if entry else None

    def get_code_challenge_method(self, code, request):
        with self.lock:
            entry = self.codes.get(code)
        return entry['method'] if entry else None

    def confirm_redirect_uri(self, client_id, code, redirect_uri, client, request, *args, **kwargs):
        with self.lock:
            entry = self.codes.get(code)
        if entry is None or entry['redirect_uri'] != redirect_uri:
            return self.refuse('redirect_uri_mismatch')
        return True

    def save_bearer_token(self, token, request, *args, **kwargs):
        with self.lock:
            self.tokens[token['access_token']] = {
                'client_id': request.client_id,
                'user': request.user,
                'scopes': list(request.scopes),
                'expires': time.monotonic() + ACCESS_TOKEN_LIFETIME,
            }
            request.code_entry['tokens'].append(token['access_token'])

    def invalidate_authorization_code(self, client_id, code, request, *args, **kwargs):
        pass  # already taken in validate_code, and kept to recognise a replay

    # --- resources and revocation ----------------------------------------------
    def validate_bearer_token(self, token, scopes, request):
        if not token:
            return self.refuse('bearer_missing')
        with self.lock:
            entry = self.tokens.get(token)
        if entry is None:
            return self.refuse('bearer_unknown')
        if time.monotonic() > entry['expires']:
            return self.refuse('bearer_expired')
        missing = [scope for scope in (scopes or []) if scope not in entry['scopes']]
        if missing:
            return self.refuse('bearer_scope_missing: ' + ' '.join(missing))
        request.user = entry['user']
        request.scopes = entry['scopes']
        request.client_id = entry['client_id']
        return True

    def revoke_token(self, token, token_type_hint, request, *args, **kwargs):
        with self.lock:
            entry = self.tokens.get(token)
            if entry is not None and entry['client_id'] == request.client_id:
                del self.tokens[token]


def require_s256_and_state(request):
    """Checks oauthlib leaves to the provider: X's S256 and its required state."""
    if request.code_challenge_method != 'S256':
        raise errors.InvalidRequestError(description='code_challenge_method must be S256', request=request)
    if not S256_CHALLENGE.fullmatch(request.code_challenge or ''):
        raise errors.InvalidRequestError(description='code_challenge is not a S256 challenge', request=request)
    if not request.state or len(request.state) > 500:
        raise errors.InvalidRequestError(description='state is missing or longer than 500 characters', request=request)
    return {}


def require_verifier_grammar(request):
    """RFC 7636 §4.1: oauthlib hashes any verifier; the grammar is checked here."""
    if request.code_verifier is not None and not VERIFIER.fullmatch(request.code_verifier):
        raise errors.InvalidGrantError(description='code_verifier is malformed', request=request)


def make_server(validator):
    server = WebApplicationServer(validator, token_expires_in=ACCESS_TOKEN_LIFETIME)
    server.auth_grant.refresh_token = False  # X issues one only with offline.access
    server.auth_grant.custom_validators.post_auth.append(require_s256_and_state)
    server.auth_grant.custom_validators.post_token.append(require_verifier_grammar)
    return server


def make_handler(validator, server):
    verbose = os.environ.get('INTEROP_PROVIDER_VERBOSE') == '1'

    class Handler(BaseHTTPRequestHandler):
        server_version = 'oauthlib-oauth2-interop/1'

        def log_message(self, format, *args):  # noqa: A002 (stdlib signature)
            if verbose:
                sys.stderr.write('provider: ' + (format % args) + '\n')

        # --- plumbing ------------------------------------------------------
        def full_uri(self):
            return 'http://%s%s' % (self.headers.get('Host', ''), self.path)

        def read_body(self):
            length = int(self.headers.get('Content-Length') or 0)
            return self.rfile.read(length).decode('utf-8') if length else ''

        def send(self, status, body, content_type='application/json; charset=utf-8', extra=None):
            self.send_response(status)
            self.send_header('Content-Type', content_type)
            self.send_header('Content-Length', str(len(body)))
            self.send_header('Cache-Control', 'no-store')
            for name, value in (extra or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def note(self, line):
            sys.stderr.write('provider: %s\n' % line)
            sys.stderr.flush()

        def refuse(self, status, reason, body):
            self.note('refused %s %s: %s' % (self.command, urlsplit(self.path).path, reason))
            self.send(status, body, extra={'X-Interop-Reason': reason})

        def reason_for(self, body, fallback):
            """The validator's own reasons first, then oauthlib's error and description."""
            reasons = validator.reasons
            try:
                described = json.loads(body) if body else {}
            except ValueError:
                described = {}
            if described.get('error'):
                reasons.append('%s: %s' % (described['error'], described.get('error_description', '')))
            return ', '.join(reasons) or fallback

        def headers_dict(self):
            return {name: value for name, value in self.headers.items()}

        def form_body(self):
            """The body of a POST, only when form-encoded (RFC 6749 §4.1.3, RFC 7009 §2.1)."""
            content_type = (self.headers.get('Content-Type') or '').split(';')[0].strip().lower()
            body = self.read_body()
            if content_type != 'application/x-www-form-urlencoded':
                return None
            return body

        # --- routes ----------------------------------------------------------
        def do_GET(self):
            validator.reset()
            path = urlsplit(self.path).path
            if path == '/i/oauth2/authorize':
                self.authorize()
            elif path == '/2/users/me':
                self.users_me()
            else:
                self.send(404, json.dumps({'title': 'Not Found Error', 'type': 'about:blank', 'status': 404}).encode())

        def do_POST(self):
            validator.reset()
            path = urlsplit(self.path).path
            body = self.form_body()
            if path in ('/2/oauth2/token', '/2/oauth2/revoke') and body is None:
                self.refuse(400, 'body_not_form_encoded', errors.InvalidRequestError(description='The body must be form-encoded.').json.encode())
                return
            if path == '/2/oauth2/token':
                headers, answer, status = server.create_token_response(self.full_uri(), 'POST', body, self.headers_dict())
                if status != 200:
                    self.refuse(status, self.reason_for(answer, 'token'), (answer or '').encode())
                    return
                token = json.loads(answer)
                self.note('token issued scope=%s' % token.get('scope', ''))
                self.send(200, answer.encode())
            elif path == '/2/oauth2/revoke':
                headers, answer, status = server.create_revocation_response(self.full_uri(), 'POST', body, self.headers_dict())
                if status != 200:
                    self.refuse(status, self.reason_for(answer, 'revoke'), (answer or '').encode())
                    return
                self.note('token revoked')
                self.send(200, json.dumps({'revoked': True}).encode())
            else:
                self.send(404, json.dumps({'title': 'Not Found Error', 'type': 'about:blank', 'status': 404}).encode())

        def authorize(self):
            uri, headers = self.full_uri(), self.headers_dict()
            try:
                scopes, _ = server.validate_authorization_request(uri, 'GET', '', headers)
            except errors.FatalClientError as error:
                # Never redirect to an unregistered redirect_uri (RFC 6749 §4.1.2.1): a page for the person.
                self.refuse(400, self.reason_for(error.json, error.error), b'<!doctype html><title>Something went wrong</title>')
                return
            except errors.OAuth2Error as error:
                # Refused, but to a registered redirect_uri: oauthlib redirects with the error and state.
                reason = self.reason_for(error.json, error.error)
                answer_headers, _, status = server.create_authorization_response(uri, 'GET', '', headers, [], {'user': USER})
                self.note('refused GET /i/oauth2/authorize: %s' % reason)
                self.send(status, b'', 'text/plain', {'Location': answer_headers['Location'], 'X-Interop-Reason': reason})
                return
            # The person approves at once.
            answer_headers, _, status = server.create_authorization_response(uri, 'GET', '', headers, scopes, {'user': USER})
            self.note('authorized scope=%s' % ' '.join(scopes))
            self.send(status, b'', 'text/plain', {'Location': answer_headers['Location']})

        def users_me(self):
            query = parse_qsl(urlsplit(self.path).query, keep_blank_values=True)
            valid, request = server.verify_request(self.full_uri(), 'GET', None, self.headers_dict(), scopes=REQUIRED_FOR_ME)
            if not valid:
                self.refuse(401, ', '.join(validator.reasons) or 'bearer', UNAUTHORIZED)
                return
            names = [name for name, _ in query]
            if names != ['user.fields']:
                self.refuse(400, 'query: ' + ','.join(names), json.dumps({'title': 'Invalid Request', 'type': 'https://api.x.com/2/problems/invalid-request'}).encode())
                return
            fields = query[0][1].split(',')
            unknown = [field for field in fields if field not in USER_FIELDS]
            if unknown or len(set(fields)) != len(fields):
                self.refuse(400, 'user.fields: ' + ','.join(fields), json.dumps({
                    'errors': [{'parameters': {'user.fields': [query[0][1]]}, 'message': 'The `user.fields` query parameter value is not valid'}],
                    'title': 'Invalid Request', 'detail': 'One or more parameters to your request was invalid.',
                    'type': 'https://api.x.com/2/problems/invalid-request'}).encode())
                return
            user = request.user
            # confirmed_email only for a token granted users.email, as at X.
            shown = {field: user[field] for field in fields if field in user
                     and (field != 'confirmed_email' or 'users.email' in request.scopes)}
            for field in ('id', 'name', 'username'):
                shown[field] = user[field]  # X always returns these
            self.note('users/me user.fields=%s scope=%s' % (','.join(fields), ' '.join(request.scopes)))
            self.send(200, json.dumps({'data': shown}).encode())

    return Handler


def main(argv):
    port = int(argv[1]) if len(argv) > 1 else 0
    client_id = argv[2] if len(argv) > 2 else os.environ.get('INTEROP_CLIENT_ID')
    client_secret = argv[3] if len(argv) > 3 else os.environ.get('INTEROP_CLIENT_SECRET')
    if not client_id or not client_secret:
        sys.stderr.write('usage: oauthlib_oauth2_provider.py [PORT] CLIENT_ID CLIENT_SECRET '
                         '(or INTEROP_CLIENT_ID / INTEROP_CLIENT_SECRET)\n')
        return 2
    pattern = os.environ.get('INTEROP_CALLBACK_PATTERN', r'http://127\.0\.0\.1:\d{1,5}/login/callback')
    lifetime = float(os.environ.get('INTEROP_CODE_LIFETIME', '30'))
    validator = StrictValidator(client_id, client_secret, pattern, lifetime)
    httpd = ThreadingHTTPServer(('127.0.0.1', port), make_handler(validator, make_server(validator)))
    httpd.daemon_threads = True
    print(httpd.server_address[1], flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
