import { extname } from 'node:path';
import { existsSync } from 'node:fs';
import type { Compute } from '../../adapters/compute/compute.ts';
import { sqlString } from '../../adapters/compute/sql.ts';
import { InputError } from '../errors.ts';
import { csvIntegerTypes, csvTypesOption, mayRoundIntegers, withCsvReadOption } from './csv-integers.ts';
import { jsonInstantsSql } from './json-instants.ts';

export type FileFormat = 'csv' | 'json' | 'ndjson' | 'parquet';

/** Where a batch comes from: any DuckDB SQL relation, or a file DuckDB can read. */
export type Source = { sql: string } | { file: string; format?: FileFormat; csv?: CsvOptions };

export interface CsvOptions {
  delimiter?: string;
  header?: boolean;
  quote?: string;
  escape?: string;
  nullString?: string;
  dateFormat?: string;
  timestampFormat?: string;
}

export function formatOf(file: string): FileFormat {
  const ext = extname(file).toLowerCase();
  if (ext === '.csv' || ext === '.tsv' || ext === '.txt') return 'csv';
  if (ext === '.json') return 'json';
  if (ext === '.ndjson' || ext === '.jsonl') return 'ndjson';
  if (ext === '.parquet') return 'parquet';
  throw new InputError(`${file}: cannot tell the format from the extension '${ext}'; use .csv, .json, .ndjson or .parquet (or pass the format).`);
}

/** The file a source names when it is read as Parquet; undefined for SQL and other formats. */
export function parquetFileOf(source: Source): string | undefined {
  return 'file' in source && (source.format ?? formatOf(source.file)) === 'parquet' ? source.file : undefined;
}

/** The SELECT that reads a source. CSV dialects are sniffed by DuckDB unless given. */
export function sourceSql(source: Source): string {
  if ('sql' in source) return source.sql;
  if (!existsSync(source.file)) throw new InputError(`${source.file}: file not found.`);
  const format = source.format ?? formatOf(source.file);
  const path = sqlString(source.file);
  switch (format) {
    case 'parquet':
      return `SELECT * FROM read_parquet(${path})`;
    case 'ndjson':
      return `SELECT * FROM read_json(${path}, format = 'newline_delimited')`;
    case 'json':
      return `SELECT * FROM read_json(${path}, format = 'auto')`;
    case 'csv': {
      const o = source.csv ?? {};
      const opts: string[] = [];
      if (o.delimiter !== undefined) opts.push(`delim = ${sqlString(o.delimiter)}`);
      if (o.header !== undefined) opts.push(`header = ${o.header}`);
      if (o.quote !== undefined) opts.push(`quote = ${sqlString(o.quote)}`);
      if (o.escape !== undefined) opts.push(`escape = ${sqlString(o.escape)}`);
      if (o.nullString !== undefined) opts.push(`nullstr = ${sqlString(o.nullString)}`);
      if (o.dateFormat !== undefined) opts.push(`dateformat = ${sqlString(o.dateFormat)}`);
      if (o.timestampFormat !== undefined) opts.push(`timestampformat = ${sqlString(o.timestampFormat)}`);
      return `SELECT * FROM read_csv(${path}${opts.map((x) => ', ' + x).join('')})`;
    }
  }
}

/**
 * sourceSql, with a JSON file's timestamps that name their offset read as instants (json-instants.ts),
 * and a CSV file's integers kept exact (csv-integers.ts): a column the sniffer types
 * DOUBLE that holds an integer a double rounds is read as DECIMAL(38,0), or as text. Costs one
 * aggregate over the file when it has a floating-point column, and a text read of it only when a
 * value reaches 2^53; a JSON file costs a DESCRIBE, and a read of its raw objects when DuckDB
 * inferred a TIMESTAMP column; nothing for Parquet or SQL. `columns`: the CSV's or JSON's columns as
 * described here, when they are the returned SELECT's (so the caller need not sniff the file again).
 * `inputError` words a file DuckDB cannot read.
 */
export async function exactSourceSql(
  compute: Compute,
  source: Source,
  inputError: (err: unknown) => Error,
): Promise<{ sql: string; columns?: { column_name: string; column_type: string }[] }> {
  const sql = sourceSql(source);
  if ('sql' in source) return { sql };
  const format = source.format ?? formatOf(source.file);
  if (format === 'json' || format === 'ndjson') {
    try {
      return await jsonInstantsSql(compute, sql, source.file, format);
    } catch (err) {
      throw inputError(err);
    }
  }
  if (format !== 'csv') return { sql };
  let described: { column_name: string; column_type: string }[];
  try {
    described = await compute.query<{ column_name: string; column_type: string }>(`DESCRIBE ${sql}`);
  } catch (err) {
    throw inputError(err);
  }
  const columns = described.map((c) => ({ name: c.column_name, type: c.column_type }));
  if (!columns.some((c) => mayRoundIntegers(c.type))) return { sql, columns: described };
  const types = await csvIntegerTypes(compute, `(${sql})`, columns, () => withCsvReadOption(sql, 'all_varchar = true')).catch((err: unknown) => {
    throw inputError(err);
  });
  return types.size === 0 ? { sql, columns: described } : { sql: withCsvReadOption(sql, csvTypesOption(types)) };
}
