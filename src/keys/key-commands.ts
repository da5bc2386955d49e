// The operator's key commands (npm run keys -- list | rotate | revoke <kid>):
// argument parsing and the three operations, each answering the text to print.
// Like the replicas, they keep one key lifecycle per algorithm, and take the
// set of algorithms the way the server does (signingAlgorithms: JWT_ALG, then
// the ID tokens' algorithms).
//
// rotate and revoke write nothing unless the command's ENCRYPTION_KEY (or one
// of ENCRYPTION_KEYS_PREVIOUS) opens the keys the replicas sign with: a key
// sealed with another ENCRYPTION_KEY would not open on them, and they would
// stop issuing tokens (see key-ring.ts).
import { keyId, type SealingKeys } from './crypto-box.js';
import type { Db } from '../store/db.js';
import { leavesJwksAt, PUBLISHED_STATES, startsSigningAt, type KeyPolicy, type KeyState } from './key-lifecycle.js';
import { insertKey, promoteKey, readAllKeys, revokeKey, toKeyRecord, type KeyRow } from './key-store.js';
import {
  generateSigningKey,
  isSigningAlg,
  openSigningKey,
  SIGNING_ALGS,
  signingAlgorithms,
  whyUnopenable,
  type SigningAlg,
} from './signing-keys.js';

export const KEYS_USAGE = `usage: npm run keys -- <command>
  list [--json]      every key: state, algorithm, kid and its timestamps
  rotate [--alg A]   publish the next key of each algorithm roost signs with (JWT_ALG and the
                     ID tokens'), or of algorithm A only (${SIGNING_ALGS.join(', ')}); replicas start
                     signing with it by themselves once every JWKS cache holds it (when that
                     time has come, rotate switches at once)
  revoke <kid>       take a key out of the JWKS at once; a revoked current key is replaced
                     at once by the next key of its algorithm, or by a new one`;

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
  /** JWT_ALG: the primary algorithm. */
  readonly alg: SigningAlg;
  /** The algorithms kept beside it, as the server is given them (the ID tokens'). */
  readonly extraAlgs?: readonly SigningAlg[];
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

/** `requested`: the one algorithm rotate --alg asked for; without it, every algorithm of the set. */
async function rotateKeys(context: KeysContext, requested: SigningAlg | undefined): Promise<CommandResult> {
  const algs = signingAlgorithms(context.alg, context.extraAlgs);
  const rows = await readAllKeys(context.db);
  const refused = await refuseUnopenable(context, rows);
  if (refused) return refused;
  const results: CommandResult[] = [];
  // One after another: a conflict on one algorithm leaves the others rotated, and says so.
  for (const alg of requested === undefined ? algs : [requested]) {
    results.push(await rotateAlgorithm(context, alg, algs.includes(alg), rows.filter((row) => row.alg === alg)));
  }
  return { exitCode: Math.max(...results.map((result) => result.exitCode)), output: results.map((result) => result.output).join('') };
}

/** One algorithm's rotation; `kept`: whether it is in the set, so that replicas sign with it. */
async function rotateAlgorithm(context: KeysContext, alg: SigningAlg, kept: boolean, rows: readonly KeyRow[]): Promise<CommandResult> {
  const now = context.now();
  const current = rows.find((row) => row.state === 'current');
  const next = rows.find((row) => row.state === 'next');
  if (!current && !kept) {
    // No replica signs with it: publish a key ahead, so that a switch to it (a new JWT_ALG) fails no verification.
    if (next) return { exitCode: 0, output: `${next.kid} (${alg}) is already published, ready for replicas that will sign with ${alg}; nothing to do\n` };
    const key = await generateSigningKey(alg, context.encryptionKey);
    if (!(await insertKey(context.db, key, 'next', new Date(now)))) return conflict(alg);
    const from = startsSigningAt({ publishedAt: new Date(now) }, context.policy);
    return {
      exitCode: 0,
      output:
        `published ${key.kid} (${alg}) ahead as the next key: no replica signs with ${alg} yet; ` +
        `once it is in their algorithms (JWT_ALG, or an OIDC client's ID token algorithm), replicas sign with it at once, ` +
        `which every JWKS cache is ready for from ${iso(from)}\n`,
    };
  }
  if (!current) {
    if (next) {
      if (!(await promoteKey(context.db, next.kid, undefined, new Date(now)))) return conflict(alg);
      await context.onKeyEvent?.({ type: 'signing_key.rotated', kid: next.kid, alg });
      return { exitCode: 0, output: `no ${alg} key was signing: ${next.kid} (${alg}), the published next key, signs now\n` };
    }
    const key = await generateSigningKey(alg, context.encryptionKey);
    if (!(await insertKey(context.db, key, 'current', new Date(now)))) return conflict(alg);
    await context.onKeyEvent?.({ type: 'signing_key.rotated', kid: key.kid, alg });
    return { exitCode: 0, output: `no key was signing: ${key.kid} (${alg}) signs now\n` };
  }
  if (next) {
    const from = startsSigningAt(toKeyRecord(next), context.policy);
    if (now < from) {
      return { exitCode: 0, output: `${next.kid} (${alg}) is already published and starts signing at ${iso(from)}; nothing to do\n` };
    }
    // Every cache holds the next key by now, so it may sign at once.
    if (!(await promoteKey(context.db, next.kid, current.kid, new Date(now)))) return conflict(alg);
    await context.onKeyEvent?.({ type: 'signing_key.rotated', kid: next.kid, alg });
    const until = leavesJwksAt({ retiredAt: new Date(now), publishedAt: current.published_at }, context.policy);
    return { exitCode: 0, output: `${next.kid} (${alg}) signs now; ${current.kid} stays in the JWKS until ${iso(until)}\n` };
  }
  const key = await generateSigningKey(alg, context.encryptionKey);
  if (!(await insertKey(context.db, key, 'next', new Date(now)))) return conflict(alg);
  const from = startsSigningAt({ publishedAt: new Date(now) }, context.policy);
  return {
    exitCode: 0,
    output:
      `published ${key.kid} (${alg}) as the next key; replicas switch to it by themselves at ${iso(from)}, ` +
      `once every JWKS cache holds it (JWKS_MAX_AGE + KEY_REFRESH_INTERVAL + 60 s)\n`,
  };
}

function conflict(alg: string): CommandResult {
  return { exitCode: 1, output: `the ${alg} keys changed while this command ran (another replica or command); run "list" and try again\n` };
}

async function revoke(context: KeysContext, kid: string): Promise<CommandResult> {
  const rows = await readAllKeys(context.db);
  const target = rows.find((row) => row.kid === kid);
  if (target && target.state !== 'revoked') {
    const refused = await refuseUnopenable(context, rows, target);
    if (refused) return refused;
  }
  // A new key only for an algorithm of the set: no replica would sign with another.
  const algs = signingAlgorithms(context.alg, context.extraAlgs);
  const result = await revokeKey(context.db, kid, new Date(context.now()), (alg) =>
    isSigningAlg(alg) && algs.includes(alg) ? generateSigningKey(alg, context.encryptionKey) : undefined,
  );
  if (result.outcome === 'unknown') return { exitCode: 1, output: `no key has kid ${kid}; run "list"\n` };
  if (result.outcome === 'already-revoked') return { exitCode: 0, output: `${kid} was already revoked\n` };
  await context.onKeyEvent?.({ type: 'signing_key.revoked', kid, alg: result.alg });
  if (result.replacement) await context.onKeyEvent?.({ type: 'signing_key.rotated', kid: result.replacement.kid, alg: result.replacement.alg });
  const lines = [`revoked ${kid} (was ${result.was}): it left the JWKS, and every replica refuses its tokens within KEY_REFRESH_INTERVAL`];
  if (result.replacement?.from === 'next') lines.push(`${result.replacement.kid}, the published next key, signs now`);
  if (result.replacement?.from === 'new') {
    lines.push(`${result.replacement.kid}, a new key, signs now; verifiers fetch it when they meet its kid`);
  }
  if (result.was === 'current' && !result.replacement) {
    lines.push(`no ${result.alg} key signs now: ${result.alg} is not among ${algs.join(', ')}; a replica that signs with it makes a new key at its next refresh`);
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
