// The statements Postgres keeps parsed and planned on each connection
// (extended protocol, a named prepared statement): the hot ones, whose text
// never changes. Each is parsed once per connection, then only bound and
// executed, which halves Postgres's work for the refresh grant. A statement
// is known by its text; its name is a hash of that text, so two texts never
// share one name and every replica names a text alike.
import { createHash } from 'node:crypto';

const names = new Map<string, string>();

/** From now on, `sql` is sent as a named prepared statement where the database allows it. */
export function nameStatement(sql: string): string {
  let name = names.get(sql);
  if (name === undefined) {
    name = `roost_${createHash('sha256').update(sql).digest('hex').slice(0, 24)}`;
    names.set(sql, name);
  }
  return name;
}

/** The name `sql` is prepared under, or undefined for a statement sent unnamed. */
export function statementName(sql: string): string | undefined {
  return names.get(sql);
}
