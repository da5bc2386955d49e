// A statement that Kysely builds and compiles once per database handle, and
// that each call sends with its own values. On the refresh, building and
// compiling the rotation's query tree cost more of roost's CPU than sending
// the statement and reading its answer. While the query is built, each
// value is a marker; the compiled parameters hold the markers where the
// call's values go, and anything else (a constant of the code) stays. Its
// text is also named (store/named-statements.ts), so Postgres too parses and
// plans it once per connection.
import { CompiledQuery, type Compilable } from 'kysely';
import type { Db } from './db.js';
import { nameStatement } from './named-statements.js';

type Kind = 'text' | 'timestamp';
type ValueOf<K extends Kind> = K extends 'text' ? string : Date;
export type Values<Kinds extends Record<string, Kind>> = { readonly [Name in keyof Kinds]: ValueOf<Kinds[Name]> };

interface Compiled {
  readonly sql: string;
  /** For each parameter: the name of the value that goes there, or the constant the code compiled in. */
  readonly slots: ReadonlyArray<{ readonly name: string } | { readonly constant: unknown }>;
}

/**
 * `kinds` names each value and says what it is; `build` makes the query from
 * the values it is given, and must send each of them as a parameter,
 * whatever they are (no value may change the statement's shape).
 */
export function prepareStatement<Kinds extends Record<string, Kind>, Row>(
  kinds: Kinds,
  build: (db: Db, values: Values<Kinds>) => Compilable<Row>,
): (db: Db, values: Values<Kinds>) => Promise<Row[]> {
  const compiled = new WeakMap<Db, Compiled>();
  return async (db, values) => {
    let statement = compiled.get(db);
    if (statement === undefined) {
      statement = compile(db, kinds, build);
      compiled.set(db, statement);
    }
    const parameters = statement.slots.map((slot) => ('name' in slot ? values[slot.name] : slot.constant));
    return (await db.executeQuery<Row>(CompiledQuery.raw(statement.sql, parameters))).rows;
  };
}

function compile<Kinds extends Record<string, Kind>, Row>(db: Db, kinds: Kinds, build: (db: Db, values: Values<Kinds>) => Compilable<Row>): Compiled {
  // Postgres text cannot hold NUL, so no real value equals a text marker; a timestamp marker is known by identity.
  const markers = Object.fromEntries(Object.entries(kinds).map(([name, kind]) => [name, kind === 'text' ? `\u0000${name}` : new Date(0)])) as Values<Kinds>;
  const byMarker = new Map<unknown, string>(Object.entries(markers).map(([name, marker]) => [marker, name]));
  const query = build(db, markers).compile();
  const slots = query.parameters.map((parameter) => {
    const name = byMarker.get(parameter);
    return name === undefined ? { constant: parameter } : { name };
  });
  const unused = Object.keys(kinds).filter((name) => !slots.some((slot) => 'name' in slot && slot.name === name));
  if (unused.length > 0) throw new Error(`the prepared statement sends no parameter for ${unused.join(', ')}`);
  nameStatement(query.sql);
  return { sql: query.sql, slots };
}
