#!/usr/bin/python3
"""A strict, independent Twitter stand-in built on oauthlib's own OAuth 1.0a
server endpoints (RequestTokenEndpoint, AccessTokenEndpoint, ResourceEndpoint).

It is not part of roost: roost's interoperability test points roost at it to
show that roost's client speaks OAuth 1.0a the way another implementation
understands it, not merely the way roost's own sandbox does.

Usage:
    /usr/bin/python3 oauthlib_provider.py [PORT] [CONSUMER_KEY] [CONSUMER_SECRET]

PORT defaults to 0 (any free port). The consumer credentials default to the
environment variables INTEROP_CONSUMER_KEY and INTEROP_CONSUMER_SECRET.
INTEROP_CALLBACK_PATTERN (a regular expression, full match) lists the callback
URLs the "registered app" allows; the default allows any loopback
http://127.0.0.1:<port>/login/callback.

The first line on stdout is the port it listens on (127.0.0.1 only).

Routes (Twitter's):
    POST /oauth/request_token
    GET  /oauth/authenticate?oauth_token=...   (auto-approves; 302 to the callback)
    POST /oauth/access_token
    GET  /1.1/account/verify_credentials.json

Every failed check answers 401 with Twitter's body
{"errors":[{"code":32,"message":"Could not authenticate you."}]}; the header
X-Interop-Reason names the check that failed, so tests can tell a signature
failure from, say, a replayed nonce.
"""

import hmac
import json
import os
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from oauthlib.common import UNICODE_ASCII_CHARACTER_SET, generate_token
from oauthlib.oauth1 import (
    SIGNATURE_HMAC_SHA1,
    AccessTokenEndpoint,
    RequestTokenEndpoint,
    RequestValidator,
    ResourceEndpoint,
)
from oauthlib.oauth1.rfc5849.utils import parse_authorization_header

TWITTER_ERROR = json.dumps({'errors': [{'code': 32, 'message': 'Could not authenticate you.'}]}).encode()

# id > 2^53: a client that reads `id` instead of `id_str` gets it wrong.
USER = {
    'id': 9007199254740993,
    'id_str': '9007199254740993',
    'screen_name': 'oauthlib_interop',
    'name': 'Interop User',
    'profile_image_url_https': 'https://pbs.twimg.com/profile_images/1/interop_normal.png',
    'email': 'interop@example.test',
}

TOKEN_LENGTH = 40
# Twitter's consumer keys are alphanumeric; roost's test key also has '-'.
SAFE = frozenset(UNICODE_ASCII_CHARACTER_SET) | frozenset('-_')
TOKEN_CHARS = UNICODE_ASCII_CHARACTER_SET


def new_token():
    return generate_token(TOKEN_LENGTH, TOKEN_CHARS)


class StrictValidator(RequestValidator):
    """Every check oauthlib delegates to the provider, done strictly.

    State is in memory, guarded by one lock. Reasons for refusals are kept per
    thread (ThreadingHTTPServer serves each request on its own thread).
    """

    def __init__(self, consumer_key, consumer_secret, callback_pattern):
        super().__init__()
        self.consumer_key = consumer_key
        self.consumer_secret = consumer_secret
        self.callback_pattern = re.compile(callback_pattern)
        self.lock = threading.Lock()
        self.nonces = set()  # (client_key, timestamp, nonce)
        # request token -> {secret, client_key, callback, realms, verifier, user}
        self.request_tokens = {}
        # access token -> {secret, client_key, realms, user}
        self.access_tokens = {}
        self.local = threading.local()
        self._dummy_secret = new_token()

    # --- refusal reasons -------------------------------------------------
    def reset(self):
        self.local.reasons = []

    def refuse(self, reason):
        self.local.reasons.append(reason)
        return False

    @property
    def reasons(self):
        return list(getattr(self.local, 'reasons', []))

    # --- policy ------------------------------------------------------------
    @property
    def allowed_signature_methods(self):
        return (SIGNATURE_HMAC_SHA1,)

    @property
    def enforce_ssl(self):
        return False  # plain http on loopback, for the test only

    @property
    def safe_characters(self):
        return SAFE

    @property
    def client_key_length(self):
        return 10, 64

    @property
    def request_token_length(self):
        return TOKEN_LENGTH, TOKEN_LENGTH

    @property
    def access_token_length(self):
        return TOKEN_LENGTH, TOKEN_LENGTH

    @property
    def verifier_length(self):
        return TOKEN_LENGTH, TOKEN_LENGTH

    @property
    def nonce_length(self):
        return 16, 64

    @property
    def realms(self):
        return []  # Twitter uses no realms; any realm asked for is refused

    @property
    def dummy_client(self):
        return 'dummy-client-key'

    @property
    def dummy_request_token(self):
        return 'd' * TOKEN_LENGTH

    @property
    def dummy_access_token(self):
        return 'e' * TOKEN_LENGTH

    # --- clients -------------------------------------------------------------
    def validate_client_key(self, client_key, request):
        return client_key == self.consumer_key or self.refuse('client_key')

    def get_client_secret(self, client_key, request):
        # The dummy client gets a random secret, so the signature check still runs (in constant time) and fails.
        return self.consumer_secret if client_key == self.consumer_key else self._dummy_secret

    def validate_timestamp_and_nonce(self, client_key, timestamp, nonce, request, request_token=None, access_token=None):
        key = (client_key, timestamp, nonce)
        with self.lock:
            if key in self.nonces:
                return self.refuse('nonce_replayed')
            self.nonces.add(key)
        return True

    # --- realms and callbacks --------------------------------------------------
    def get_default_realms(self, client_key, request):
        return []

    def validate_requested_realms(self, client_key, realms, request):
        return all(r in self.realms for r in realms) or self.refuse('realm')

    def validate_redirect_uri(self, client_key, redirect_uri, request):
        if redirect_uri == 'oob' or not isinstance(redirect_uri, str):
            return self.refuse('callback')
        parts = urlsplit(redirect_uri)
        if parts.scheme not in ('http', 'https') or parts.fragment or not self.callback_pattern.fullmatch(redirect_uri):
            return self.refuse('callback')
        return True

    # --- request tokens --------------------------------------------------------
    def save_request_token(self, token, request):
        with self.lock:
            self.request_tokens[token['oauth_token']] = {
                'secret': token['oauth_token_secret'],
                'client_key': request.client_key,
                'callback': request.redirect_uri,
                'realms': list(request.realms or []),
                'verifier': None,
                'user': None,
            }

    def authorize(self, token):
        """The user approves: a verifier is bound to the request token, once."""
        with self.lock:
            entry = self.request_tokens.get(token)
            if entry is None or entry['verifier'] is not None:
                return None
            entry['verifier'] = new_token()
            entry['user'] = USER
            return entry['callback'], entry['verifier']

    def validate_request_token(self, client_key, token, request):
        with self.lock:
            entry = self.request_tokens.get(token)
        if entry is None:
            return self.refuse('request_token_unknown')
        if entry['client_key'] != client_key:
            return self.refuse('request_token_not_owned')
        return True

    def get_request_token_secret(self, client_key, token, request):
        with self.lock:
            entry = self.request_tokens.get(token)
        if entry is None or entry['client_key'] != client_key:
            return self._dummy_secret
        return entry['secret']

    def validate_verifier(self, client_key, token, verifier, request):
        with self.lock:
            entry = self.request_tokens.get(token)
        if entry is None or entry['verifier'] is None or entry['client_key'] != client_key:
            return self.refuse('verifier')
        return hmac.compare_digest(entry['verifier'], verifier) or self.refuse('verifier')

    def verify_request_token(self, token, request):
        with self.lock:
            return token in self.request_tokens

    def get_realms(self, token, request):
        with self.lock:
            entry = self.request_tokens.get(token)
        return list(entry['realms']) if entry else []

    def invalidate_request_token(self, client_key, request_token, request):
        with self.lock:
            self.request_tokens.pop(request_token, None)

    def user_of_request_token(self, token):
        with self.lock:
            entry = self.request_tokens.get(token)
            return entry['user'] if entry else None

    # --- access tokens ---------------------------------------------------------
    def save_access_token(self, token, request):
        with self.lock:
            entry = self.request_tokens.get(request.resource_owner_key)
            self.access_tokens[token['oauth_token']] = {
                'secret': token['oauth_token_secret'],
                'client_key': request.client_key,
                'realms': list(request.realms or []),
                'user': entry['user'] if entry else None,
            }

    def validate_access_token(self, client_key, token, request):
        with self.lock:
            entry = self.access_tokens.get(token)
        if entry is None:
            return self.refuse('access_token_unknown')
        if entry['client_key'] != client_key:
            return self.refuse('access_token_not_owned')
        return True

    def get_access_token_secret(self, client_key, token, request):
        with self.lock:
            entry = self.access_tokens.get(token)
        if entry is None or entry['client_key'] != client_key:
            return self._dummy_secret
        return entry['secret']

    def validate_realms(self, client_key, token, request, uri=None, realms=None):
        with self.lock:
            entry = self.access_tokens.get(token)
        granted = entry['realms'] if entry else []
        return all(r in granted for r in (realms or [])) or self.refuse('realm')

    def user_of_access_token(self, token):
        with self.lock:
            entry = self.access_tokens.get(token)
            return entry['user'] if entry else None


def make_handler(validator):
    request_endpoint = RequestTokenEndpoint(validator, token_generator=new_token)
    access_endpoint = AccessTokenEndpoint(validator, token_generator=new_token)
    resource_endpoint = ResourceEndpoint(validator)
    verbose = os.environ.get('INTEROP_PROVIDER_VERBOSE') == '1'

    class Handler(BaseHTTPRequestHandler):
        server_version = 'oauthlib-interop/1'

        def log_message(self, format, *args):  # noqa: A002 (stdlib signature)
            if verbose:
                sys.stderr.write('provider: ' + (format % args) + '\n')

        # --- plumbing ------------------------------------------------------
        def full_uri(self):
            # The signature base string uses the Host the client sent (RFC 5849 §3.4.1.2).
            return 'http://%s%s' % (self.headers.get('Host', ''), self.path)

        def read_body(self):
            length = int(self.headers.get('Content-Length') or 0)
            return self.rfile.read(length).decode('utf-8') if length else ''

        def send(self, status, body, content_type, extra=None):
            self.send_response(status)
            self.send_header('Content-Type', content_type)
            self.send_header('Content-Length', str(len(body)))
            for name, value in (extra or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def refuse(self, reason):
            sys.stderr.write('provider: refused %s %s: %s\n' % (self.command, urlsplit(self.path).path, reason))
            self.send(401, TWITTER_ERROR, 'application/json; charset=utf-8', {'X-Interop-Reason': reason})

        def answer_endpoint(self, headers, body, status):
            if status == 200 and body:
                self.send(200, body.encode(), headers.get('Content-Type', 'application/x-www-form-urlencoded'))
                return
            reasons = validator.reasons
            if body:  # oauthlib's own OAuth1Error: error=...&error_description=...
                described = dict(parse_qsl(body))
                reasons.append('%s: %s' % (described.get('error', 'error'), described.get('error_description', '')))
            # Every delegated check passed, so oauthlib refused the signature itself.
            self.refuse(', '.join(reasons) or 'signature')

        def oauth_headers(self):
            return {name: value for name, value in self.headers.items()}

        def route(self):
            return urlsplit(self.path).path

        # --- routes ----------------------------------------------------------
        def do_POST(self):
            validator.reset()
            path = self.route()
            body = self.read_body()
            if path == '/oauth/request_token':
                self.answer_endpoint(*request_endpoint.create_request_token_response(
                    self.full_uri(), http_method='POST', body=body, headers=self.oauth_headers()))
            elif path == '/oauth/access_token':
                # Twitter adds the user to the access token answer.
                token = dict(parse_authorization_header(self.headers.get('Authorization', ''))).get('oauth_token') \
                    if self.headers.get('Authorization', '').startswith('OAuth ') else None
                user = validator.user_of_request_token(token) if token else None
                credentials = {'user_id': user['id_str'], 'screen_name': user['screen_name']} if user else {}
                self.answer_endpoint(*access_endpoint.create_access_token_response(
                    self.full_uri(), http_method='POST', body=body, headers=self.oauth_headers(),
                    credentials=credentials))
            else:
                self.send(404, b'{"errors":[{"code":34,"message":"Sorry, that page does not exist."}]}', 'application/json')

        def do_GET(self):
            validator.reset()
            path = self.route()
            if path == '/oauth/authenticate':
                query = dict(parse_qsl(urlsplit(self.path).query))
                granted = validator.authorize(query.get('oauth_token', ''))
                if granted is None:
                    self.refuse('authenticate: unknown or used request token')
                    return
                callback, verifier = granted
                parts = urlsplit(callback)
                extra = urlencode({'oauth_token': query['oauth_token'], 'oauth_verifier': verifier})
                location = urlunsplit(parts._replace(query=f'{parts.query}&{extra}' if parts.query else extra))
                self.send(302, b'', 'text/plain', {'Location': location})
            elif path == '/1.1/account/verify_credentials.json':
                valid, request = resource_endpoint.validate_protected_resource_request(
                    self.full_uri(), http_method='GET', body='', headers=self.oauth_headers(), realms=[])
                if not valid:
                    log = getattr(request, 'validator_log', {}) if request is not None else {}
                    failed = [name for name, ok in log.items() if not ok]
                    self.refuse(', '.join(validator.reasons + failed) or 'malformed request')
                    return
                user = validator.user_of_access_token(request.resource_owner_key)
                if user is None:
                    self.refuse('no user for access token')
                    return
                self.send(200, json.dumps(user).encode(), 'application/json; charset=utf-8')
            else:
                self.send(404, b'{"errors":[{"code":34,"message":"Sorry, that page does not exist."}]}', 'application/json')

    return Handler


def main(argv):
    port = int(argv[1]) if len(argv) > 1 else 0
    key = argv[2] if len(argv) > 2 else os.environ.get('INTEROP_CONSUMER_KEY')
    secret = argv[3] if len(argv) > 3 else os.environ.get('INTEROP_CONSUMER_SECRET')
    if not key or not secret:
        sys.stderr.write('usage: oauthlib_provider.py [PORT] CONSUMER_KEY CONSUMER_SECRET '
                         '(or INTEROP_CONSUMER_KEY / INTEROP_CONSUMER_SECRET)\n')
        return 2
    pattern = os.environ.get('INTEROP_CALLBACK_PATTERN', r'http://127\.0\.0\.1:\d{1,5}/login/callback')
    validator = StrictValidator(key, secret, pattern)
    server = ThreadingHTTPServer(('127.0.0.1', port), make_handler(validator))
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
