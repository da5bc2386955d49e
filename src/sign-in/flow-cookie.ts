// The cookie that binds a sign-in to the browser that started it (login
// CSRF, RFC 6749 §10.12, RFC 9700 §4.7). Signed, HttpOnly, SameSite=Lax;
// over https also Secure and __Host- prefixed, so no subdomain and no
// plain-http page can set or overwrite it (RFC 6265bis §4.1.3.2).

export interface FlowCookie {
  readonly name: string;
  readonly options: {
    readonly path: string;
    readonly httpOnly: true;
    readonly sameSite: 'lax';
    readonly secure: boolean;
    readonly signed: true;
  };
}

export function flowCookie(publicUrl: string): FlowCookie {
  const secure = publicUrl.startsWith('https:');
  return {
    name: secure ? '__Host-roost_flow' : 'roost_flow',
    options: {
      // __Host- requires Path=/; over plain http the cookie stays on /login paths.
      path: secure ? '/' : '/login',
      httpOnly: true,
      // Lax, not Strict: the browser must send it on the top-level redirect back from Twitter.
      sameSite: 'lax',
      secure,
      signed: true,
    },
  };
}
