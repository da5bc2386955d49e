// A POST /logout body after the route validated it against `LogoutRequest`
// in openapi.yaml (which owns every type and length rule). What is left is
// what the schema cannot see: something must name the session to end, in
// the body or in the Authorization header.

/** A body that passed the `LogoutRequest` schema, empty parameters omitted. */
export interface LogoutRequestBody {
  readonly refresh_token?: string;
  readonly return_to?: string;
}

export type LogoutCheck =
  | { readonly ok: true; readonly refreshToken: string | undefined; readonly returnTo: string | undefined }
  | { readonly ok: false; readonly reason: string };

export function parseLogoutRequest(body: LogoutRequestBody, hasAuthorization: boolean): LogoutCheck {
  const refreshToken = body.refresh_token || undefined;
  const returnTo = body.return_to || undefined;
  if (refreshToken === undefined && !hasAuthorization) {
    return { ok: false, reason: 'Send the refresh token in the body or the access token in an Authorization header' };
  }
  return { ok: true, refreshToken, returnTo };
}
