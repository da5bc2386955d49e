// The peer: "Sign in with Twitter" written the way a tutorial writes it, to
// set roost's cost beside. Express; express-session with its sessions in
// Redis through connect-redis (as such an app is deployed behind more than
// one process); passport with passport-twitter, pointed at the benchmark's
// Twitter stand-in; the user upserted into a table of its own with pg; a
// JWT signed with jsonwebtoken (ES256) and sent to the app in the fragment.
// It answers roost's URLs (/login?return_to=…, /login/callback, the JWKS),
// so the same driver runs against it. Beyond what the flow needs (the
// stand-in's URLs, the email, the return_to kept across passport's session
// regeneration), every library keeps its defaults.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { RedisStore } from 'connect-redis';
import express, { type Express } from 'express';
import session from 'express-session';
import jwt from 'jsonwebtoken';
import passport from 'passport';
import { Strategy as TwitterStrategy, type Profile } from 'passport-twitter';
import pg from 'pg';
import { createClient } from 'redis';

export interface PeerOptions {
  readonly databaseUrl: string;
  readonly redisUrl: string;
  /** The Twitter stand-in (load-provider.ts). */
  readonly providerUrl: string;
  readonly consumerKey: string;
  readonly consumerSecret: string;
  /** Where the peer is reached: its callback and its tokens' issuer. */
  readonly publicUrl: string;
  /** The one return_to it accepts, as roost accepts only registered ones. */
  readonly returnTo: string;
  readonly poolSize: number;
  /** Its sessions' key prefix in Redis. */
  readonly sessionPrefix?: string;
}

export interface Peer {
  readonly app: Express;
  close(): Promise<void>;
}

/** The session cookie the driver carries from /login to the callback: express-session's default name. */
export const PEER_COOKIE = 'connect.sid';
export const PEER_ACCESS_TTL_SECONDS = 900;

export interface PeerUser {
  readonly id: string;
  readonly twitter_id: string;
  readonly screen_name: string;
  readonly name: string;
  readonly picture: string | null;
  readonly email: string | null;
}

declare module 'express-session' {
  interface SessionData {
    returnTo: string;
  }
}

export const PEER_USERS_TABLE = `
  create table if not exists passport_users (
    id bigserial primary key,
    twitter_id text not null unique,
    screen_name text not null,
    name text not null,
    picture text,
    email text,
    token text not null,
    token_secret text not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
  )`;

const UPSERT_USER = `
  insert into passport_users (twitter_id, screen_name, name, picture, email, token, token_secret)
  values ($1, $2, $3, $4, $5, $6, $7)
  on conflict (twitter_id) do update set
    screen_name = excluded.screen_name, name = excluded.name, picture = excluded.picture,
    email = excluded.email, token = excluded.token, token_secret = excluded.token_secret, updated_at = now()
  returning id::text, twitter_id, screen_name, name, picture, email`;

/** The row passport's verify callback stores, from what passport-twitter parsed. */
export function userFromProfile(profile: Pick<Profile, 'id' | 'username' | 'displayName' | 'photos' | 'emails'>): Omit<PeerUser, 'id'> {
  return {
    twitter_id: profile.id,
    screen_name: profile.username ?? '',
    name: profile.displayName,
    picture: profile.photos?.[0]?.value ?? null,
    email: profile.emails?.[0]?.value ?? null,
  };
}

/** The JWT's claims: who signed in, as an app reads them. */
export function peerClaims(user: PeerUser): Record<string, unknown> {
  return { twitter_id: user.twitter_id, screen_name: user.screen_name, name: user.name, picture: user.picture, ...(user.email ? { email: user.email } : {}) };
}

/** Where the browser goes with its token: the app's URL with the token in the fragment. */
export function appRedirect(returnTo: string, accessToken: string): string {
  return `${returnTo}#${new URLSearchParams({ access_token: accessToken, token_type: 'Bearer', expires_in: String(PEER_ACCESS_TTL_SECONDS) })}`;
}

export async function createPeer(options: PeerOptions): Promise<Peer> {
  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: options.poolSize });
  await pool.query(PEER_USERS_TABLE);
  const redisClient = createClient({ url: options.redisUrl });
  await redisClient.connect();

  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const kid = randomBytes(8).toString('base64url');
  const jwks = { keys: [{ ...publicKey.export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' }] };

  const auth = new passport.Passport();
  auth.use(
    new TwitterStrategy(
      {
        consumerKey: options.consumerKey,
        consumerSecret: options.consumerSecret,
        callbackURL: `${options.publicUrl}/login/callback`,
        requestTokenURL: `${options.providerUrl}/oauth/request_token`,
        accessTokenURL: `${options.providerUrl}/oauth/access_token`,
        userAuthorizationURL: `${options.providerUrl}/oauth/authenticate`,
        userProfileURL: `${options.providerUrl}/1.1/account/verify_credentials.json`,
        includeEmail: true,
      },
      (token, tokenSecret, profile, done) => {
        const user = userFromProfile(profile);
        pool
          .query<PeerUser>(UPSERT_USER, [user.twitter_id, user.screen_name, user.name, user.picture, user.email, token, tokenSecret])
          .then((result) => done(null, result.rows[0]))
          .catch((error: unknown) => done(error));
      },
    ),
  );
  auth.serializeUser((user, done) => done(null, (user as PeerUser).id));
  auth.deserializeUser((id: string, done) => {
    pool
      .query<PeerUser>('select id::text, twitter_id, screen_name, name, picture, email from passport_users where id = $1', [id])
      .then((result) => done(null, result.rows[0] ?? false))
      .catch((error: unknown) => done(error));
  });

  const app = express();
  app.use(
    session({
      store: new RedisStore({ client: redisClient, prefix: options.sessionPrefix ?? 'bench-peer:sess:' }),
      secret: randomBytes(32).toString('hex'),
      resave: false,
      saveUninitialized: false,
    }),
  );
  app.use(auth.initialize());
  app.use(auth.session());

  app.get('/login', (req, res, next) => {
    if (req.query.return_to !== options.returnTo) {
      res.status(400).send('unknown return_to');
      return;
    }
    req.session.returnTo = options.returnTo;
    auth.authenticate('twitter')(req, res, next);
  });

  app.get('/login/callback', auth.authenticate('twitter', { failureRedirect: `${options.returnTo}#error=access_denied`, keepSessionInfo: true }), (req, res) => {
    const user = req.user as PeerUser;
    const accessToken = jwt.sign(peerClaims(user), privateKey, {
      algorithm: 'ES256',
      keyid: kid,
      expiresIn: PEER_ACCESS_TTL_SECONDS,
      issuer: options.publicUrl,
      subject: user.id,
    });
    res.redirect(appRedirect(req.session.returnTo ?? options.returnTo, accessToken));
  });

  app.get('/.well-known/jwks.json', (_req, res) => {
    res.json(jwks);
  });

  return {
    app,
    close: async () => {
      await Promise.all([pool.end(), redisClient.close()]);
    },
  };
}
