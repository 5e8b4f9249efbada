import type { Compute } from '../../adapters/compute/compute.ts';
import { jsonTextSelect, plainText, type OutputColumn } from './values.ts';
import { NdjsonEncoder } from './ndjson.ts';
import { CsvEncoder } from './csv.ts';
import { OutputSink } from './sink.ts';

/**
 * The rows of a query printed as ndjson or csv on stdout, chunk by chunk (DuckDB's 2048-row
 * vectors), never all held at once: what `lakelet read` and `lakelet changes` print.
 */
export async function streamRows(compute: Compute, sql: string, columns: OutputColumn[], format: 'ndjson' | 'csv', limit: number | undefined): Promise<void> {
  const names = columns.map((c) => c.name);
  const encoder = format === 'ndjson' ? new NdjsonEncoder(names) : new CsvEncoder(names);
  const sink = new OutputSink(process.stdout);
  if (encoder instanceof CsvEncoder) sink.write(encoder.header());
  const select = jsonTextSelect(sql, columns) + (limit !== undefined ? ` LIMIT ${limit}` : '');
  for await (const rows of compute.stream(select)) {
    for (const row of rows) sink.write(encoder.line(row as (string | null)[]));
    if (sink.full) await sink.flush();
  }
  await sink.flush();
}

/** The first `limit` rows of a query as plain text for the table format, and whether there are more. */
export async function firstRowsAsText(compute: Compute, sql: string, columns: OutputColumn[], limit: number): Promise<{ rows: (string | null)[][]; more: boolean }> {
  const rows: (string | null)[][] = [];
  for await (const chunk of compute.stream(`${jsonTextSelect(sql, columns)} LIMIT ${limit + 1}`)) {
    for (const row of chunk) rows.push((row as (string | null)[]).map(plainText));
  }
  const more = rows.length > limit;
  if (more) rows.length = limit;
  return { rows, more };
}
