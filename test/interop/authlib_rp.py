#!/usr/bin/python3
"""An OpenID Connect relying party written with Authlib, run against roost.

Authlib is used only in its standard ways: the provider's metadata from
discovery (nothing but the issuer is known in advance), OAuth2Session for the
authorization URL (PKCE S256, state, nonce) and the token endpoint
(client_secret_basic, client_secret_post, none), authlib.jose with the JWKS and
CodeIDToken for the ID token (iss, aud, exp, nonce, at_hash), UserInfo, the
refresh_token grant, and RP-initiated logout at the end_session_endpoint.
The person's browser is a requests.Session with a cookie jar that follows each
hop itself: roost's /authorize, the sandbox X's consent page (approved for the
given user), roost's callback, and the redirect to the client's redirect_uri,
which is read from the Location header and never fetched.

Usage:
    /usr/bin/python3 authlib_rp.py ISSUER SANDBOX_USER_ID < clients.json

clients.json is roost's OIDC_CLIENTS list. It must hold a confidential client
with token_endpoint_auth_method client_secret_basic, one with
client_secret_post and a public client (no client_secret); each needs a
post_logout_redirect_uri, and their id_token_signed_response_alg values choose
the algorithms checked. Secrets come on stdin, never on the command line.

Prints one JSON line, {"authlib": version, "ok": bool, "checks": {name:
{"ok": bool, "detail": text, ...what was seen}}}, and exits 0 when every check
passed, 1 when one failed, 2 for bad usage. Nothing secret is printed: no
token, code, secret or cookie.
"""

import hashlib
import hmac
import json
import os
import sys
import time
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

import requests

import authlib
from authlib.common.encoding import to_bytes, urlsafe_b64encode
from authlib.common.security import generate_token
from authlib.common.urls import add_params_to_uri
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from authlib.jose import JsonWebKey, JsonWebToken
from authlib.jose.errors import BadSignatureError, InvalidClaimError, JoseError
from authlib.oauth2.rfc6749.errors import MismatchingStateException
from authlib.oidc.core import CodeIDToken, UserInfo
from authlib.oidc.core.util import create_half_hash
from authlib.oidc.discovery import OpenIDProviderMetadata, get_well_known_url

TIMEOUT = 10
SCOPE = 'openid profile email offline_access'
ROLES = ('basic', 'post', 'public')


class CheckFailed(Exception):
    """A check saw something other than what it expected."""


def expect(condition, message):
    if not condition:
        raise CheckFailed(message)


class Results:
    """Every check by name, in the order they ran."""

    def __init__(self):
        self.checks = {}

    def run(self, name, fn, *, needs=()):
        """Runs fn() -> dict of what was seen; a check whose prerequisites failed fails too."""
        missing = [need for need in needs if not self.checks.get(need, {}).get('ok')]
        if missing:
            self.checks[name] = {'ok': False, 'detail': f'not run: {", ".join(missing)} failed'}
            return None
        try:
            seen = fn() or {}
            self.checks[name] = {'ok': True, 'detail': 'ok', **seen}
            return seen
        except CheckFailed as error:
            self.checks[name] = {'ok': False, 'detail': str(error)}
        except OAuthError as error:
            self.checks[name] = {'ok': False, 'detail': f'OAuthError {error.error}: {error.description}'}
        except Exception as error:  # the check's failure, reported by name
            self.checks[name] = {'ok': False, 'detail': f'{type(error).__name__}: {error}'}
        return None


class ConsentForm(HTMLParser):
    """The sandbox's consent form: its action, hidden fields and offered users (as readConsentForm reads it)."""

    def __init__(self):
        super().__init__()
        self.action = None
        self.hidden = {}
        self.user_ids = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == 'form' and self.action is None:
            self.action = attributes.get('action') or ''
        if tag != 'input':
            return
        if attributes.get('type') == 'hidden' and attributes.get('name') is not None and attributes.get('value') is not None:
            self.hidden[attributes['name']] = attributes['value']
        if attributes.get('name') == 'user_id' and attributes.get('value') is not None:
            self.user_ids.append(attributes['value'])


def query_of(url):
    """The query parameters of a URL, one value each."""
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


def without_query(url):
    parts = urlsplit(url)
    return f'{parts.scheme}://{parts.netloc}{parts.path}'


class Browser:
    """The person's browser: a cookie jar and redirects followed by hand, one hop at a time."""

    def __init__(self, issuer):
        self.session = requests.Session()
        self.session.headers['Accept'] = 'text/html'
        self.issuer_origin = '{0.scheme}://{0.netloc}'.format(urlsplit(issuer))

    def get(self, url):
        return self.session.get(url, allow_redirects=False, timeout=TIMEOUT)

    def post(self, url, form):
        return self.session.post(url, data=form, allow_redirects=False, timeout=TIMEOUT)

    def cookie_names(self):
        return sorted({cookie.name for cookie in self.session.cookies})

    def where(self, url):
        return 'roost' if url.startswith(self.issuer_origin + '/') else 'elsewhere'

    def authorize(self, url, user_id, redirect_uri):
        """GET the authorization URL and follow the browser until roost sends it to redirect_uri.

        Returns (the Location at redirect_uri, the hops seen); through X when
        there is no browser session at roost, straight back when there is one.
        """
        hops = []

        def hop(response, expected_status):
            hops.append(f'{self.where(response.url)} {response.request.method} {response.status_code}')
            expect(response.status_code == expected_status, f'{response.request.method} {without_query(response.url)} answered {response.status_code}, not {expected_status} (hops: {hops})')
            location = response.headers.get('Location')
            return urljoin(response.url, location) if location else None

        next_url = hop(self.get(url), 302)
        expect(next_url is not None, 'roost answered /authorize without a Location')
        if without_query(next_url) == redirect_uri:
            return next_url, hops
        expect(self.where(next_url) == 'elsewhere', f'/authorize sent the browser to {without_query(next_url)}, neither X nor the client')
        page = self.get(next_url)
        hop(page, 200)
        form = ConsentForm()
        form.feed(page.text)
        expect(form.action is not None, 'no form on the consent page')
        expect(user_id in form.user_ids, f'the consent page does not offer user {user_id} (it offers {form.user_ids})')
        decision = self.post(urljoin(page.url, form.action), {**form.hidden, 'user_id': user_id, 'action': 'approve'})
        callback = hop(decision, 302)
        expect(callback is not None and self.where(callback) == 'roost', 'X did not send the browser back to roost')
        back = hop(self.get(callback), 302)
        expect(back is not None, 'roost\'s callback answered without a Location')
        expect(without_query(back) == redirect_uri, f'roost sent the browser to {without_query(back)}, not the redirect_uri {redirect_uri}')
        return back, hops


class Provider:
    """What discovery told, and the JWKS it points to."""

    def __init__(self, issuer):
        self.issuer = issuer
        self.metadata = None
        self.jwks = None

    def discover(self):
        url = get_well_known_url(self.issuer, external=True)
        response = requests.get(url, headers={'Accept': 'application/json'}, timeout=TIMEOUT)
        expect(response.status_code == 200, f'{url} answered {response.status_code}')
        metadata = OpenIDProviderMetadata(response.json())
        metadata.validate()
        # OIDC Discovery 1.0 §4.3: the issuer in the document is the one asked for, exactly.
        expect(metadata['issuer'] == self.issuer, f'the metadata names issuer {metadata["issuer"]}, not {self.issuer}')
        keys = requests.get(metadata['jwks_uri'], headers={'Accept': 'application/json'}, timeout=TIMEOUT)
        expect(keys.status_code == 200, f'jwks_uri answered {keys.status_code}')
        self.jwks = JsonWebKey.import_key_set(keys.json())
        self.metadata = metadata
        return metadata

    def __getitem__(self, name):
        return self.metadata[name]


class Client:
    """One registration as an Authlib relying party."""

    def __init__(self, provider, entry):
        self.provider = provider
        self.entry = entry
        self.client_id = entry['client_id']
        self.secret = entry.get('client_secret')
        self.auth_method = entry.get('token_endpoint_auth_method') or ('client_secret_basic' if self.secret else 'none')
        self.alg = entry.get('id_token_signed_response_alg') or 'RS256'
        self.redirect_uri = entry['redirect_uris'][0]
        self.post_logout_redirect_uri = (entry.get('post_logout_redirect_uris') or [None])[0]

    def session(self, *, secret=None, auth_method=None, pkce=True, token=None):
        """An OAuth2Session as an app builds one; records what its token requests sent and got."""
        session = OAuth2Session(
            client_id=self.client_id,
            client_secret=self.secret if secret is None else secret,
            token_endpoint_auth_method=auth_method or self.auth_method,
            scope=SCOPE,
            redirect_uri=self.redirect_uri,
            code_challenge_method='S256' if pkce else None,
            token=token,
            default_timeout=TIMEOUT,
        )
        session.last_token_response = None

        def remember(response):
            session.last_token_response = response
            return response

        session.register_compliance_hook('access_token_response', remember)
        session.register_compliance_hook('refresh_token_response', remember)
        return session

    def authorization_url(self, session, **params):
        """The authorization URL, its state and nonce and the PKCE verifier."""
        verifier = generate_token(48)
        nonce = generate_token(24)
        extra = {'code_verifier': verifier} if session.code_challenge_method else {}
        url, state = session.create_authorization_url(self.provider['authorization_endpoint'], nonce=nonce, **extra, **params)
        return url, state, nonce, verifier

    def sign_in(self, browser, user_id, **params):
        """The code flow to its tokens: the trip through X, the answer's state and iss, the code at the token endpoint."""
        session = self.session()
        url, state, nonce, verifier = self.authorization_url(session, **params)
        back, hops = browser.authorize(url, user_id, self.redirect_uri)
        answer = query_of(back)
        expect('error' not in answer, f'the authorization response is error={answer.get("error")}: {answer.get("error_description")}')
        # RFC 9207 §2.4: the client compares iss with the issuer it asked.
        expect(answer.get('iss') == self.provider.issuer, f'iss in the authorization response is {answer.get("iss")!r}')
        # Authlib compares state before it sends anything: a wrong one never reaches the token endpoint.
        try:
            session.fetch_token(self.provider['token_endpoint'], authorization_response=back, state=state + 'x', code_verifier=verifier)
            raise CheckFailed('Authlib accepted an authorization response with another state')
        except MismatchingStateException:
            pass
        expect(session.last_token_response is None, 'a token request was sent despite the wrong state')
        token = session.fetch_token(self.provider['token_endpoint'], authorization_response=back, state=state, code_verifier=verifier)
        sent = describe_token_request(session.last_token_response.request)
        return {'session': session, 'token': token, 'nonce': nonce, 'hops': hops, 'sent': sent, 'back': back}

    def validate_id_token(self, id_token, *, nonce, access_token, claims_options=None):
        """The ID token through authlib.jose: the signature with the JWKS key its kid names, the
        registered algorithm only, then CodeIDToken's checks (iss, aud, exp, iat, nonce, at_hash)."""
        jwt = JsonWebToken([self.alg])
        options = claims_options or {
            'iss': {'essential': True, 'value': self.provider.issuer},
            'aud': {'essential': True, 'value': self.client_id},
        }
        params = {'nonce': nonce, 'client_id': self.client_id}
        if access_token is not None and authlib_hashes(self.alg):
            params['access_token'] = access_token
        claims = jwt.decode(id_token, key=self.provider.jwks, claims_cls=CodeIDToken, claims_options=options, claims_params=params)
        claims.validate(leeway=30)
        if access_token is not None and not authlib_hashes(self.alg):
            check_at_hash_sha512(claims, access_token)
        return claims


def authlib_hashes(alg):
    """Whether this Authlib computes at_hash for alg: 1.2.0 derives the hash from the alg's
    digits, so EdDSA has none (authlib/authlib#799, fixed in a later release)."""
    return create_half_hash('probe', alg) is not None


def check_at_hash_sha512(claims, access_token):
    """at_hash of an EdDSA (Ed25519) ID token: the left half of SHA-512, as Ed25519 hashes."""
    expected = urlsafe_b64encode(hashlib.sha512(to_bytes(access_token)).digest()[:32])
    if 'at_hash' in claims and not hmac.compare_digest(expected, to_bytes(claims['at_hash'])):
        raise InvalidClaimError('at_hash')


def describe_token_request(request):
    """How a token request authenticated the client and whether it carried a PKCE verifier (names only)."""
    body = parse_qs(request.body if isinstance(request.body, str) else (request.body or b'').decode('ascii'))
    authorization = request.headers.get('Authorization', '')
    if authorization.startswith('Basic '):
        method = 'client_secret_basic'
    elif 'client_secret' in body:
        method = 'client_secret_post'
    else:
        method = 'none'
    return {'client_auth': method, 'code_verifier': 'code_verifier' in body, 'grant_type': (body.get('grant_type') or [''])[0]}


def refused(fn, error_class, claim=None):
    """Whether fn() raises error_class (for InvalidClaimError: about claim)."""
    try:
        fn()
    except error_class as error:
        # InvalidClaimError keeps the claim's name only in its description.
        return claim is None or error.description == f'Invalid claim "{claim}"'
    except JoseError:
        return False
    return False


def tamper(token):
    """The token with one middle character of its signature changed."""
    header, payload, signature = token.split('.')
    at = len(signature) // 2
    changed = 'B' if signature[at] == 'A' else 'A'
    return '.'.join([header, payload, signature[:at] + changed + signature[at + 1:]])


def userinfo(session, provider):
    """GET the userinfo_endpoint with the session's access token (Authorization: Bearer)."""
    return session.get(provider['userinfo_endpoint'], timeout=TIMEOUT)


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    issuer, user_id = sys.argv[1], sys.argv[2]
    try:
        entries = json.load(sys.stdin)
    except ValueError as error:
        print(f'the client registrations on stdin are not JSON: {error}', file=sys.stderr)
        return 2
    by_role = {}
    for entry in entries if isinstance(entries, list) else []:
        if not entry.get('client_secret'):
            by_role.setdefault('public', entry)
        elif entry.get('token_endpoint_auth_method') in ('client_secret_basic', 'client_secret_post'):
            by_role.setdefault(entry['token_endpoint_auth_method'].rsplit('_', 1)[1], entry)
    if set(by_role) != set(ROLES) or not all(entry.get('post_logout_redirect_uris') for entry in by_role.values()):
        print('stdin must list a client_secret_basic client, a client_secret_post client and a public client, each with a post_logout_redirect_uri', file=sys.stderr)
        return 2
    # Authlib wants https everywhere; plain http only for a roost on this machine.
    if urlsplit(issuer).scheme == 'http' and urlsplit(issuer).hostname in ('127.0.0.1', '::1', 'localhost'):
        os.environ['AUTHLIB_INSECURE_TRANSPORT'] = '1'

    provider = Provider(issuer)
    clients = {role: Client(provider, entry) for role, entry in by_role.items()}
    results = Results()
    state = {}

    def discovery():
        metadata = provider.discover()
        algs = [client.alg for client in clients.values()]
        for alg in algs:
            expect(alg in metadata['id_token_signing_alg_values_supported'], f'{alg} is not among id_token_signing_alg_values_supported')
        expect('S256' in (metadata.get('code_challenge_methods_supported') or []), 'S256 is not among code_challenge_methods_supported')
        expect(metadata.get('end_session_endpoint'), 'no end_session_endpoint')
        expect(metadata.get('userinfo_endpoint'), 'no userinfo_endpoint')
        for method in ('client_secret_basic', 'client_secret_post', 'none'):
            expect(method in (metadata.get('token_endpoint_auth_methods_supported') or []), f'{method} is not among token_endpoint_auth_methods_supported')
        return {
            'issuer': metadata['issuer'],
            'endpoints': {name: metadata.get(name) for name in ('authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri', 'end_session_endpoint')},
            'iss_parameter': metadata.get('authorization_response_iss_parameter_supported'),
            'key_algs': sorted({key.as_dict().get('alg') for key in provider.jwks.keys}),
        }

    results.run('discovery', discovery)

    for role in ROLES:
        client = clients[role]
        browser = Browser(issuer)

        def sign_in(client=client, browser=browser, role=role):
            flow = client.sign_in(browser, user_id)
            state[role] = flow
            token = flow['token']
            expect(token.get('token_type', '').lower() == 'bearer', f'token_type is {token.get("token_type")!r}')
            for name in ('access_token', 'id_token', 'refresh_token'):
                expect(isinstance(token.get(name), str) and token[name], f'no {name} in the token response')
            return {
                'hops': flow['hops'],
                'through_x': any(hop.startswith('elsewhere') for hop in flow['hops']),
                'sent': flow['sent'],
                'scope': token.get('scope'),
                'cookies': browser.cookie_names(),
            }

        def id_token(client=client, role=role):
            flow = state[role]
            token = flow['token']
            claims = client.validate_id_token(token['id_token'], nonce=flow['nonce'], access_token=token['access_token'])
            header = claims.header
            expect('at_hash' in claims, 'the ID token has no at_hash')
            expect(header.get('kid') in {key.as_dict().get('kid') for key in provider.jwks.keys}, 'the kid is not in the JWKS')
            validate = client.validate_id_token
            wrong = {
                # Each must fail, or the check above proves nothing.
                'nonce': refused(lambda: validate(token['id_token'], nonce='another-nonce', access_token=token['access_token']), InvalidClaimError, 'nonce'),
                'at_hash': refused(lambda: validate(token['id_token'], nonce=flow['nonce'], access_token=token['access_token'] + 'x'), InvalidClaimError, 'at_hash'),
                'aud': refused(lambda: validate(token['id_token'], nonce=flow['nonce'], access_token=token['access_token'], claims_options={'aud': {'essential': True, 'value': 'another-client'}}), InvalidClaimError, 'aud'),
                'iss': refused(lambda: validate(token['id_token'], nonce=flow['nonce'], access_token=token['access_token'], claims_options={'iss': {'essential': True, 'value': issuer + '/other'}}), InvalidClaimError, 'iss'),
                'signature': refused(lambda: validate(tamper(token['id_token']), nonce=flow['nonce'], access_token=token['access_token']), BadSignatureError),
                'alg': refused(lambda: Client(provider, {**client.entry, 'id_token_signed_response_alg': 'ES256' if client.alg != 'ES256' else 'RS256'}).validate_id_token(token['id_token'], nonce=flow['nonce'], access_token=token['access_token']), JoseError),
            }
            expect(all(wrong.values()), f'authlib.jose accepted an ID token it must refuse: {[name for name, ok in wrong.items() if not ok]}')
            state[role]['claims'] = claims
            seen = {}
            if not authlib_hashes(client.alg):
                # What CodeIDToken says when given the access token anyway: it cannot hash for this alg.
                try:
                    JsonWebToken([client.alg]).decode(
                        token['id_token'], key=provider.jwks, claims_cls=CodeIDToken,
                        claims_params={'nonce': flow['nonce'], 'client_id': client.client_id, 'access_token': token['access_token']},
                    ).validate(leeway=30)
                    seen['authlib_at_hash'] = 'accepted'
                except JoseError as error:
                    seen['authlib_at_hash'] = f'refused the right access token: {error.description}'
            return {
                **seen,
                'alg': header.get('alg'),
                'at_hash_checked_by': 'authlib' if authlib_hashes(client.alg) else 'sha512 (this Authlib has no EdDSA half hash)',
                'refused': sorted(wrong),
                'claims': {name: claims.get(name) for name in ('iss', 'aud', 'sub', 'nonce', 'preferred_username', 'name', 'email', 'email_verified', 'profile', 'picture')},
                'has': sorted(name for name in ('exp', 'iat', 'auth_time', 'sid', 'at_hash') if name in claims),
                'lifetime': claims['exp'] - claims['iat'],
            }

        def user_info(role=role):
            flow = state[role]
            response = userinfo(flow['session'], provider)
            expect(response.status_code == 200, f'userinfo answered {response.status_code}')
            info = UserInfo(response.json())
            expect(info.sub == flow['claims']['sub'], 'userinfo names another sub than the ID token')
            return {'claims': dict(info)}

        def refresh(client=client, role=role):
            flow = state[role]
            session = flow['session']
            before = dict(flow['token'])
            token = session.refresh_token(provider['token_endpoint'])
            sent = describe_token_request(session.last_token_response.request)
            expect(sent['grant_type'] == 'refresh_token', 'Authlib sent another grant')
            expect(token['refresh_token'] != before['refresh_token'], 'the refresh token did not rotate')
            expect(token['access_token'] != before['access_token'], 'the access token is the same')
            # OIDC Core §12.2: no nonce in a refreshed ID token, the same sub and auth_time.
            claims = client.validate_id_token(token['id_token'], nonce=None, access_token=token['access_token'])
            expect('nonce' not in claims, 'a refreshed ID token carries a nonce')
            expect(claims['sub'] == flow['claims']['sub'], 'a refreshed ID token names another sub')
            expect(claims.get('auth_time') == flow['claims'].get('auth_time'), 'auth_time changed on refresh')
            response = userinfo(session, provider)
            expect(response.status_code == 200, f'userinfo with the refreshed access token answered {response.status_code}')
            flow['refreshed'] = token
            return {'sent': sent, 'alg': claims.header.get('alg'), 'same_auth_time': True}

        needs = ('discovery', f'{role}.sign_in')
        results.run(f'{role}.sign_in', sign_in, needs=('discovery',))
        results.run(f'{role}.id_token', id_token, needs=needs)
        results.run(f'{role}.userinfo', user_info, needs=(*needs, f'{role}.id_token'))
        results.run(f'{role}.refresh', refresh, needs=(*needs, f'{role}.id_token'))
        state.setdefault(role, {})['browser'] = browser

    def single_sign_on():
        # The basic client's browser, another client, prompt=none: a code at once, no trip to X.
        browser = state['basic']['browser']
        flow = clients['post'].sign_in(browser, user_id, prompt='none')
        expect(not any(hop.startswith('elsewhere') for hop in flow['hops']), 'prompt=none with a browser session went to X')
        claims = clients['post'].validate_id_token(flow['token']['id_token'], nonce=flow['nonce'], access_token=flow['token']['access_token'])
        expect(claims['sub'] == state['basic']['claims']['sub'], 'another sub through the browser session')
        expect(claims.get('auth_time') == state['basic']['claims'].get('auth_time'), 'auth_time is not the X sign-in')
        state['sso'] = flow
        return {'hops': flow['hops']}

    results.run('single_sign_on', single_sign_on, needs=('basic.id_token',))

    for role in ROLES:
        client = clients[role]

        def logout(client=client, role=role):
            flow = state[role]
            browser = flow['browser']
            end_state = generate_token(16)
            url = add_params_to_uri(provider['end_session_endpoint'], [
                ('id_token_hint', flow['token']['id_token']),
                ('post_logout_redirect_uri', client.post_logout_redirect_uri),
                ('state', end_state),
            ])
            before = browser.cookie_names()
            response = browser.get(url)
            expect(response.status_code == 302, f'end_session answered {response.status_code}')
            location = response.headers.get('Location', '')
            expect(without_query(location) == client.post_logout_redirect_uri, f'end_session sent the browser to {without_query(location)}')
            expect(query_of(location) == {'state': end_state}, f'the logout redirect carries {sorted(query_of(location))}, not state alone')
            after = browser.cookie_names()
            # The ended session's tokens no longer work, the refreshed ones included.
            live = flow.get('refreshed') or flow['token']
            ended = userinfo(client.session(token=live), provider)
            expect(ended.status_code == 401, f'userinfo after logout answered {ended.status_code}')
            challenge = ended.headers.get('WWW-Authenticate', '')
            expect('invalid_token' in challenge, f'userinfo after logout: {challenge!r}')
            seen = {'cookies_before': before, 'cookies_after': after}
            if role == 'basic' and 'sso' in state:
                sso = userinfo(clients['post'].session(token=state['sso']['token']), provider)
                seen['sso_session_after_logout'] = sso.status_code
            # And the browser has no session at roost any more.
            session = client.session()
            url, prompt_state, _, _ = client.authorization_url(session, prompt='none')
            again = browser.get(url)
            seen['prompt_none_after_logout'] = query_of(again.headers.get('Location', '')).get('error')
            return seen

        results.run(f'{role}.logout', logout, needs=(f'{role}.id_token',))

    basic, post, public = clients['basic'], clients['post'], clients['public']

    def error_page_for(url):
        response = Browser(issuer).get(url)
        return {
            'status': response.status_code,
            'location': response.headers.get('Location'),
            'content_type': (response.headers.get('Content-Type') or '').split(';')[0],
        }

    def unregistered_redirect_uri():
        session = basic.session()
        url, _, _, _ = basic.authorization_url(session, redirect_uri=basic.redirect_uri.rstrip('/') + '-not-registered')
        seen = error_page_for(url)
        expect(seen['status'] == 400, f'roost answered {seen["status"]}')
        expect(seen['location'] is None, 'roost redirected to an unregistered redirect_uri')
        expect(seen['content_type'] == 'text/html', f'the answer is {seen["content_type"]}, not a page')
        return seen

    def authorization_error(client, session, **params):
        url, sent_state, _, _ = client.authorization_url(session, **params)
        response = Browser(issuer).get(url)
        expect(response.status_code == 302, f'/authorize answered {response.status_code}')
        location = response.headers.get('Location', '')
        expect(without_query(location) == client.redirect_uri, f'the error went to {without_query(location)}')
        answer = query_of(location)
        expect(answer.get('state') == sent_state, 'the error does not carry the state')
        expect(answer.get('iss') == issuer, f'the error carries iss {answer.get("iss")!r}')
        expect('code' not in answer, 'a code beside an error')
        return {'error': answer.get('error'), 'has_description': bool(answer.get('error_description')), 'state': True, 'iss': answer.get('iss')}

    def public_without_pkce():
        seen = authorization_error(public, public.session(pkce=False))
        expect(seen['error'] == 'invalid_request', f'error={seen["error"]}')
        return seen

    def prompt_none_without_session():
        seen = authorization_error(post, post.session(), prompt='none')
        expect(seen['error'] == 'login_required', f'error={seen["error"]}')
        return seen

    def code_errors():
        # One code: a wrong secret over Basic, then over the body, leave it unspent; the right secret redeems it; once.
        flow_session = basic.session()
        url, sent_state, nonce, verifier = basic.authorization_url(flow_session)
        back, _ = Browser(issuer).authorize(url, user_id, basic.redirect_uri)
        seen = {}
        for name, client, method in (('wrong_secret_basic', basic, 'client_secret_basic'), ('wrong_secret_post', post, 'client_secret_post')):
            wrong = client.session(secret='not-the-secret-' + generate_token(24), auth_method=method)
            try:
                wrong.fetch_token(provider['token_endpoint'], authorization_response=back, state=sent_state, code_verifier=verifier, redirect_uri=basic.redirect_uri)
                raise CheckFailed(f'{name}: the token endpoint accepted a wrong secret')
            except OAuthError as error:
                response = wrong.last_token_response
                seen[name] = {
                    'error': error.error,
                    'status': response.status_code,
                    'challenge': (response.headers.get('WWW-Authenticate') or '').split(',')[0],
                    'sent': describe_token_request(response.request)['client_auth'],
                }
        token = flow_session.fetch_token(provider['token_endpoint'], authorization_response=back, state=sent_state, code_verifier=verifier)
        basic.validate_id_token(token['id_token'], nonce=nonce, access_token=token['access_token'])
        seen['redeemed_after_wrong_secrets'] = True
        replay = basic.session()
        try:
            replay.fetch_token(provider['token_endpoint'], authorization_response=back, state=sent_state, code_verifier=verifier)
            raise CheckFailed('a replayed code was redeemed twice')
        except OAuthError as error:
            seen['replayed_code'] = {'error': error.error, 'status': replay.last_token_response.status_code}
        # The second redemption ends the session the first one opened.
        seen['first_token_after_replay'] = userinfo(basic.session(token=token), provider).status_code
        return seen

    results.run('error.unregistered_redirect_uri', unregistered_redirect_uri, needs=('discovery',))
    results.run('error.public_without_pkce', public_without_pkce, needs=('discovery',))
    results.run('error.prompt_none_without_session', prompt_none_without_session, needs=('discovery',))
    codes = results.run('error.code', code_errors, needs=('discovery',))
    # One check per error in the report, each with what it saw.
    failure = results.checks.pop('error.code')
    for name, expected in (('wrong_secret_basic', 'invalid_client'), ('wrong_secret_post', 'invalid_client'), ('replayed_code', 'invalid_grant')):
        if codes is None:
            results.checks[f'error.{name}'] = failure
            continue
        seen = codes[name]
        if name == 'replayed_code':
            seen = {**seen, 'redeemed_after_wrong_secrets': codes['redeemed_after_wrong_secrets'], 'first_token_after_replay': codes['first_token_after_replay']}
        good = seen['error'] == expected
        results.checks[f'error.{name}'] = {'ok': good, 'detail': 'ok' if good else f'error={seen["error"]}, not {expected}', **seen}

    ok = all(check['ok'] for check in results.checks.values())
    print(json.dumps({'authlib': authlib.__version__, 'ok': ok, 'checks': results.checks}, separators=(',', ':')))
    return 0 if ok else 1


if __name__ == '__main__':
    started = time.monotonic()
    code = main()
    print(f'authlib_rp.py: {time.monotonic() - started:.1f} s', file=sys.stderr)
    sys.exit(code)
