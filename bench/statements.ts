// roost's SQL, taken from its own query functions rather than copied: a
// function runs against a Kysely whose driver records each compiled
// statement and answers no rows, so what is recorded is what roost sends.
// The floor of the benchmark runs these statements on bare pg;
// test/store/hot-statement-plans.test.ts EXPLAINs them.
import { Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler, type CompiledQuery, type DatabaseConnection, type Driver, type QueryResult } from 'kysely';
import type { Database, Db } from '../src/store/db.js';

export interface Statement {
  readonly sql: string;
  readonly parameters: readonly unknown[];
}

/** Every statement `run` sends, in order; it sees an empty answer to each (and may throw on it: that is ignored). */
export async function recordStatements(run: (db: Db) => Promise<unknown>): Promise<Statement[]> {
  const recorded: Statement[] = [];
  const connection: DatabaseConnection = {
    executeQuery: async <R>(query: CompiledQuery): Promise<QueryResult<R>> => {
      recorded.push({ sql: query.sql, parameters: query.parameters });
      return { rows: [] };
    },
    // eslint-disable-next-line require-yield
    streamQuery: async function* () {
      throw new Error('streaming is not recorded');
    },
  };
  const driver: Driver = {
    init: async () => {},
    acquireConnection: async () => connection,
    beginTransaction: async () => {},
    commitTransaction: async () => {},
    rollbackTransaction: async () => {},
    releaseConnection: async () => {},
    destroy: async () => {},
  };
  const db = new Kysely<Database>({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => driver,
      createIntrospector: (kysely) => new PostgresIntrospector(kysely),
      createQueryCompiler: () => new PostgresQueryCompiler(),
    },
  });
  try {
    await run(db);
  } catch {
    // An empty answer where a row was required: the statements sent so far are what counts.
  }
  return recorded;
}

/** A statement whose parameters are named: each slot is a name to fill in per call, or a constant of the code's. */
export interface StatementTemplate {
  readonly sql: string;
  readonly slots: ReadonlyArray<{ readonly name: string } | { readonly value: unknown }>;
}

/**
 * Turns a recorded statement into a template: a parameter equal to one of
 * `sentinels` (a string, or a Date of the same instant) becomes that slot.
 * Every sentinel must appear, so a statement that stops using one fails here.
 */
export function templateOf(statement: Statement, sentinels: Readonly<Record<string, string | Date>>): StatementTemplate {
  const seen = new Set<string>();
  const slots = statement.parameters.map((parameter) => {
    for (const [name, sentinel] of Object.entries(sentinels)) {
      const same = sentinel instanceof Date ? parameter instanceof Date && parameter.getTime() === sentinel.getTime() : parameter === sentinel;
      if (same) {
        seen.add(name);
        return { name };
      }
    }
    return { value: parameter };
  });
  const missing = Object.keys(sentinels).filter((name) => !seen.has(name));
  if (missing.length > 0) throw new Error(`the statement takes no parameter for ${missing.join(', ')}: ${statement.sql}`);
  return { sql: statement.sql, slots };
}

/** The parameters of one call: each slot filled from `values`. */
export function parametersOf(template: StatementTemplate, values: Readonly<Record<string, unknown>>): unknown[] {
  return template.slots.map((slot) => {
    if ('value' in slot) return slot.value;
    if (!(slot.name in values)) throw new Error(`no value for ${slot.name}`);
    return values[slot.name];
  });
}
