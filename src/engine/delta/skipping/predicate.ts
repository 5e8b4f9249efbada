/**
 * The predicate tree data skipping reasons over: a user predicate (`--where "a > 5 AND part = 'x'"`)
 * as DuckDB parsed it (see compile.ts), reduced to what min/max/null statistics and partition
 * values can decide; everything else is an 'unknown' node, which never allows skipping on its own.
 */

export type CompareOp = '=' | '<>' | '<' | '<=' | '>' | '>=';

/** A constant of the predicate, evaluated by DuckDB. */
export interface Literal {
  /** DuckDB type as typeof() prints it ('INTEGER', 'DECIMAL(2,1)', 'TIMESTAMP WITH TIME ZONE', …); 'NULL' for NULL. */
  duckType: string;
  /** CAST(value AS VARCHAR); null for NULL. */
  text: string | null;
  /** For VARCHAR constants, DuckDB's own casts (a string compared with a typed column is cast to its type). */
  casts?: {
    date: string | null;
    timestamptz: string | null;
    timestamp: string | null;
    boolean: boolean | null;
    double: string | null;
  };
  /** Set when DuckDB could not evaluate the constant: comparisons with it are unknown. */
  failed?: boolean;
}

export type Predicate =
  | { kind: 'and'; children: Predicate[] }
  | { kind: 'or'; children: Predicate[] }
  | { kind: 'not'; child: Predicate }
  /** column op value (a constant on the left is flipped to the right). */
  | { kind: 'compare'; op: CompareOp; column: string[]; value: Literal }
  /** column IN (values); NOT IN is not(in). */
  | { kind: 'in'; column: string[]; values: Literal[] }
  /** column IS NULL; IS NOT NULL is not(isNull). */
  | { kind: 'isNull'; column: string[] }
  /** A predicate without columns, evaluated once (TRUE, 1 = 0, NULL, …). */
  | { kind: 'constant'; value: boolean | null }
  /** Anything else: functions of columns, column-to-column comparisons, subqueries, LIKE, … */
  | { kind: 'unknown'; reason: string };

/** The column paths a predicate refers to (as written), e.g. for checking they are partition columns. */
export function predicateColumns(p: Predicate): string[][] {
  switch (p.kind) {
    case 'and':
    case 'or':
      return p.children.flatMap(predicateColumns);
    case 'not':
      return predicateColumns(p.child);
    case 'compare':
    case 'in':
    case 'isNull':
      return [p.column];
    default:
      return [];
  }
}
