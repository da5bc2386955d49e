// The operator's key commands (npm run keys -- list | rotate | revoke <kid>):
// argument parsing and the three operations, each answering the text to print.
//
// rotate and revoke write nothing unless the command's ENCRYPTION_KEY (or one
// of ENCRYPTION_KEYS_PREVIOUS) opens the keys the replicas sign with: a key
// sealed with another ENCRYPTION_KEY would not open on them, and they would
// stop issuing tokens (see key-ring.ts).
import { keyId, type SealingKeys } from './crypto-box.js';
import type { Db } from '../store/db.js';
import { leavesJwksAt, PUBLISHED_STATES, startsSigningAt, type KeyPolicy, type KeyState } from './key-lifecycle.js';
import { insertKey, promoteKey, readAllKeys, revokeKey, toKeyRecord, type KeyRow } from './key-store.js';
import { generateSigningKey, isSigningAlg, openSigningKey, SIGNING_ALGS, whyUnopenable, type SigningAlg } from './signing-keys.js';

export const KEYS_USAGE = `usage: npm run keys -- <command>
  list [--json]      every key: state, algorithm, kid and its timestamps
  rotate [--alg A]   publish the next key (algorithm A: ${SIGNING_ALGS.join(', ')}; default JWT_ALG);
                     replicas start signing with it by themselves once every JWKS cache
                     holds it (when that time has come, rotate switches at once)
  revoke <kid>       take a key out of the JWKS at once; a revoked current key is
                     replaced at once by the next key, or by a new one`;

export type KeysCommand =
  | { readonly name: 'list'; readonly json: boolean }
  | { readonly name: 'rotate'; readonly alg: SigningAlg | undefined }
  | { readonly name: 'revoke'; readonly kid: string };

/** RFC 7638 thumbprints are 43 base64url characters; anything else cannot be a kid of ours. */
const KID = /^[A-Za-z0-9_-]{43}$/;

export function parseKeysCommand(argv: readonly string[]): KeysCommand | { readonly error: string } {
  const [name, ...rest] = argv;
  if (name === 'list') {
    if (rest.length === 0) return { name, json: false };
    if (rest.length === 1 && rest[0] === '--json') return { name, json: true };
    return { error: `list takes only --json (got ${rest.join(' ')})` };
  }
  if (name === 'rotate') {
    if (rest.length === 0) return { name, alg: undefined };
    const alg = rest.length === 2 && rest[0] === '--alg' ? rest[1] : rest.length === 1 && rest[0]?.startsWith('--alg=') ? rest[0].slice(6) : undefined;
    if (alg === undefined) return { error: `rotate takes only --alg ${SIGNING_ALGS.join('|')}` };
    if (!isSigningAlg(alg)) return { error: `--alg must be one of ${SIGNING_ALGS.join(', ')} (got "${alg}")` };
    return { name, alg };
  }
  if (name === 'revoke') {
    const [kid, ...extra] = rest;
    if (kid === undefined || extra.length > 0) return { error: 'revoke takes exactly one kid' };
    if (!KID.test(kid)) return { error: `"${kid}" is not a key id (43 base64url characters; see "list")` };
    return { name, kid };
  }
  return { error: name === undefined ? 'a command is required' : `unknown command "${name}"` };
}

export interface KeysContext {
  readonly db: Db;
  readonly encryptionKey: SealingKeys;
  readonly policy: KeyPolicy;
  /** JWT_ALG: the algorithm of new keys unless rotate --alg says otherwise. */
  readonly alg: SigningAlg;
  readonly now: () => number;
  /** Told of each change to the keys, for the audit log; never fails the command. */
  readonly onKeyEvent?: (event: KeyEvent) => Promise<unknown>;
}

/** A change to the keys an operator made: a key that signs now, or one taken out. */
export interface KeyEvent {
  readonly type: 'signing_key.rotated' | 'signing_key.revoked';
  readonly kid: string;
  readonly alg?: string;
}

export interface CommandResult {
  readonly exitCode: number;
  readonly output: string;
}

export function runKeysCommand(context: KeysContext, command: KeysCommand): Promise<CommandResult> {
  switch (command.name) {
    case 'list':
      return listKeys(context, command.json);
    case 'rotate':
      return rotateKeys(context, command.alg);
    case 'revoke':
      return revoke(context, command.kid);
  }
}

const iso = (ms: number | Date | null | undefined) => (ms === null || ms === undefined ? '-' : new Date(ms).toISOString());

async function listKeys(context: KeysContext, json: boolean): Promise<CommandResult> {
  const rows = await readAllKeys(context.db);
  if (json) {
    const keys = rows.map((row) => ({
      kid: row.kid,
      alg: row.alg,
      state: row.state,
      created_at: iso(row.created_at),
      published_at: iso(row.published_at),
      activated_at: row.activated_at && iso(row.activated_at),
      retired_at: row.retired_at && iso(row.retired_at),
      expired_at: row.expired_at && iso(row.expired_at),
      revoked_at: row.revoked_at && iso(row.revoked_at),
    }));
    return { exitCode: 0, output: `${JSON.stringify(keys, null, 2)}\n` };
  }
  if (rows.length === 0) return { exitCode: 0, output: 'no signing keys yet: the first roost to start creates one\n' };
  const lines = rows.map((row) => [row.state.padEnd(8), row.alg.padEnd(5), row.kid, describe(row, context.policy)].join('  '));
  return { exitCode: 0, output: `${['state     alg    kid', ...lines].join('\n')}\n` };
}

function describe(row: KeyRow, policy: KeyPolicy): string {
  switch (row.state) {
    case 'next':
      return `published ${iso(row.published_at)}, signs from ${iso(startsSigningAt(toKeyRecord(row), policy))}`;
    case 'current':
      return `signing since ${iso(row.activated_at ?? row.published_at)}`;
    case 'previous':
      return `signed until ${iso(row.retired_at)}, in the JWKS until ${iso(leavesJwksAt(toKeyRecord(row), policy))}`;
    case 'expired':
      return `left the JWKS ${iso(row.expired_at)}`;
    default:
      return `revoked ${iso(row.revoked_at)}`;
  }
}

/** `requested`: the algorithm rotate --alg asked for, if any. */
async function rotateKeys(context: KeysContext, requested: SigningAlg | undefined): Promise<CommandResult> {
  const now = context.now();
  const alg = requested ?? context.alg;
  const rows = await readAllKeys(context.db);
  const current = rows.find((row) => row.state === 'current');
  const next = rows.find((row) => row.state === 'next');
  if (next && requested !== undefined && next.alg !== requested) {
    // rotate publishes no second next key, and promoting this one would not give the algorithm asked for.
    return {
      exitCode: 1,
      output:
        `${next.kid} (${next.alg}) is already published as the next key, so rotate --alg ${requested} cannot take effect: ` +
        `revoke it first (npm run keys -- revoke ${next.kid}), then run rotate --alg ${requested} again; nothing was changed\n`,
    };
  }
  const refused = await refuseUnopenable(context, rows);
  if (refused) return refused;
  if (!current) {
    const key = await generateSigningKey(alg, context.encryptionKey);
    if (!(await insertKey(context.db, key, 'current', new Date(now)))) return conflict();
    await context.onKeyEvent?.({ type: 'signing_key.rotated', kid: key.kid, alg });
    return { exitCode: 0, output: `no key was signing: ${key.kid} (${alg}) signs now\n` };
  }
  if (next) {
    const from = startsSigningAt(toKeyRecord(next), context.policy);
    if (now < from) {
      return { exitCode: 0, output: `${next.kid} (${next.alg}) is already published and starts signing at ${iso(from)}; nothing to do\n` };
    }
    // Every cache holds the next key by now, so it may sign at once.
    if (!(await promoteKey(context.db, next.kid, current.kid, new Date(now)))) return conflict();
    await context.onKeyEvent?.({ type: 'signing_key.rotated', kid: next.kid, alg: next.alg });
    const until = leavesJwksAt({ retiredAt: new Date(now), publishedAt: current.published_at }, context.policy);
    return { exitCode: 0, output: `${next.kid} (${next.alg}) signs now; ${current.kid} stays in the JWKS until ${iso(until)}\n` };
  }
  const key = await generateSigningKey(alg, context.encryptionKey);
  if (!(await insertKey(context.db, key, 'next', new Date(now)))) return conflict();
  const from = startsSigningAt({ publishedAt: new Date(now) }, context.policy);
  return {
    exitCode: 0,
    output:
      `published ${key.kid} (${alg}) as the next key; replicas switch to it by themselves at ${iso(from)}, ` +
      `once every JWKS cache holds it (JWKS_MAX_AGE + KEY_REFRESH_INTERVAL + 60 s)\n`,
  };
}

function conflict(): CommandResult {
  return { exitCode: 1, output: 'the keys changed while this command ran (another replica or command); run "list" and try again\n' };
}

async function revoke(context: KeysContext, kid: string): Promise<CommandResult> {
  const rows = await readAllKeys(context.db);
  const target = rows.find((row) => row.kid === kid);
  if (target && target.state !== 'revoked') {
    const refused = await refuseUnopenable(context, rows, target);
    if (refused) return refused;
  }
  const result = await revokeKey(context.db, kid, new Date(context.now()), () => generateSigningKey(context.alg, context.encryptionKey));
  if (result.outcome === 'unknown') return { exitCode: 1, output: `no key has kid ${kid}; run "list"\n` };
  if (result.outcome === 'already-revoked') return { exitCode: 0, output: `${kid} was already revoked\n` };
  await context.onKeyEvent?.({ type: 'signing_key.revoked', kid, ...(target ? { alg: target.alg } : {}) });
  if (result.replacement) await context.onKeyEvent?.({ type: 'signing_key.rotated', kid: result.replacement.kid, alg: context.alg });
  const lines = [`revoked ${kid} (was ${result.was}): it left the JWKS, and every replica refuses its tokens within KEY_REFRESH_INTERVAL`];
  if (result.replacement?.from === 'next') lines.push(`${result.replacement.kid}, the published next key, signs now`);
  if (result.replacement?.from === 'new') {
    lines.push(`${result.replacement.kid}, a new key, signs now; verifiers fetch it when they meet its kid`);
  }
  return { exitCode: 0, output: `${lines.join('\n')}\n` };
}

/**
 * The refusal when the command's keys do not open the keys the replicas sign
 * with, or undefined when it may write. Their ENCRYPTION_KEY shows only in
 * the keys they sign with, so the current and next keys must open (but for
 * the one being revoked). When none is left, as when the current key is
 * revoked with no next key to take over, one of the other published keys
 * must open instead (the revoked key itself when there is none). An empty
 * database has nothing to compare with.
 */
async function refuseUnopenable(context: KeysContext, rows: readonly KeyRow[], revoking?: KeyRow): Promise<CommandResult | undefined> {
  const opens = (row: KeyRow) => openSigningKey(row, context.encryptionKey).then(() => undefined, (error: unknown) => whyUnopenable(error));
  const sealed = rows.filter((row) => PUBLISHED_STATES.includes(row.state as KeyState) && row.private_jwk_sealed !== null);
  const signing = sealed.filter((row) => (row.state === 'current' || row.state === 'next') && row.kid !== revoking?.kid);
  for (const row of signing) {
    const why = await opens(row);
    if (why !== undefined) return unopenable(context, row, why);
  }
  if (signing.length > 0) return undefined;
  const others = sealed.filter((row) => row.kid !== revoking?.kid);
  const witnesses = others.length > 0 ? others : sealed;
  let first: { row: KeyRow; why: string } | undefined;
  for (const row of witnesses) {
    const why = await opens(row);
    if (why === undefined) return undefined;
    first ??= { row, why };
  }
  return first && unopenable(context, first.row, first.why);
}

function unopenable(context: KeysContext, row: KeyRow, why: string): CommandResult {
  const keys = Buffer.isBuffer(context.encryptionKey) ? { current: context.encryptionKey, previous: [] } : context.encryptionKey;
  const previous = keys.previous.length > 0 ? `, ENCRYPTION_KEYS_PREVIOUS ${keys.previous.map(keyId).join(', ')}` : '';
  return {
    exitCode: 1,
    output:
      `the ${row.state} signing key ${row.kid} does not open with this command's keys (ENCRYPTION_KEY ${keyId(keys.current)}${previous}): ${why}.\n` +
      'A key this command wrote would not open on the replicas either, and they would stop issuing tokens. ' +
      `Set ENCRYPTION_KEY to the replicas' ENCRYPTION_KEY (and ENCRYPTION_KEYS_PREVIOUS to theirs, or to the key that sealed ${row.kid}), then run the command again; nothing was changed.\n`,
  };
}
