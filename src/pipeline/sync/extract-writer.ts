import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Compute } from '../../adapters/compute/compute.ts';
import { sqlIdent, sqlString } from '../../adapters/compute/sql.ts';
import type { TextRow } from '../../adapters/sources/source.ts';

/** A column of the extract: its name in the lake and the DuckDB SQL that makes it from the text value `c<i>`. */
export interface ExtractColumn {
  name: string;
  /** From the text value (a VARCHAR expression) to the lake value. */
  decode(expr: string): string;
}

export interface ExtractFileSpec {
  columns: ExtractColumn[];
  /** Columns computed from the decoded ones (e.g. the soft-delete marker), `name` → SQL over them. */
  derived: { name: string; sql: string }[];
  /** Columns the target has but the source no longer sends: NULL of this type (schema drift). */
  missing: { name: string; type: string }[];
  lineage: { batch: number; sourceFile: string; ingestedAt: number };
  rowsPerFile: number;
}

/**
 * Streams source rows to Parquet in bounded memory: each row is written as one NDJSON line (text
 * values, so nothing is rounded on the way), and every `rowsPerFile` rows DuckDB turns that file
 * into a Parquet file with the lake's types (and the stage's lineage columns), then deletes it. JS
 * holds one row at a time; DuckDB works under its memory limit.
 */
export class ExtractWriter {
  readonly files: string[] = [];
  rows = 0;
  private out: WriteStream | undefined;
  private inFile = 0;

  constructor(
    private readonly compute: Compute,
    private readonly dir: string,
    private readonly spec: ExtractFileSpec,
  ) {}

  async write(row: TextRow): Promise<void> {
    if (!this.out) {
      await mkdir(this.dir, { recursive: true });
      this.out = createWriteStream(this.ndjson(this.files.length));
    }
    const line: Record<string, string | number | null> = { r: this.rows };
    row.forEach((v, i) => (line[`c${i}`] = v));
    this.rows++;
    this.inFile++;
    if (!this.out.write(JSON.stringify(line) + '\n')) await once(this.out, 'drain');
    if (this.inFile >= this.spec.rowsPerFile) await this.flush();
  }

  /**
   * Converts what is buffered on disk to Parquet; returns the Parquet files written so far.
   * `atLeastOne`: write an empty file when no row came (it carries the batch's schema).
   */
  async finish(options: { atLeastOne?: boolean } = {}): Promise<string[]> {
    if (options.atLeastOne && this.files.length === 0 && !this.out) {
      await mkdir(this.dir, { recursive: true });
      this.out = createWriteStream(this.ndjson(0));
    }
    await this.flush();
    return this.files;
  }

  private ndjson(n: number): string {
    return join(this.dir, `part-${String(n).padStart(5, '0')}.ndjson`);
  }

  private async flush(): Promise<void> {
    if (!this.out) return;
    const out = this.out;
    this.out = undefined;
    this.inFile = 0;
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    const n = this.files.length;
    const source = this.ndjson(n);
    const parquet = join(this.dir, `part-${String(n).padStart(5, '0')}.parquet`);
    const { columns, derived, missing, lineage } = this.spec;
    const types = `{'r': 'BIGINT'${columns.map((_, i) => `, 'c${i}': 'VARCHAR'`).join('')}}`;
    const decoded = [
      ...columns.map((c, i) => `${c.decode(`c${i}`)} AS ${sqlIdent(c.name)}`),
      ...missing.map((m) => `CAST(NULL AS ${m.type}) AS ${sqlIdent(m.name)}`),
      `CAST(${lineage.batch} AS BIGINT) AS _batch`,
      `${sqlString(lineage.sourceFile)} AS _source_file`,
      `CAST(epoch_ms(CAST(${lineage.ingestedAt} AS BIGINT)) AS TIMESTAMPTZ) AS _ingested_at`,
      `r AS _row_number`,
    ];
    const inner = `SELECT ${decoded.join(', ')} FROM read_json(${sqlString(source)}, format = 'newline_delimited', columns = ${types})`;
    const select = derived.length ? `SELECT *, ${derived.map((d) => `${d.sql} AS ${sqlIdent(d.name)}`).join(', ')} FROM (${inner})` : inner;
    await this.compute.run(`COPY (${select}) TO ${sqlString(parquet)} (FORMAT parquet, COMPRESSION zstd)`);
    await rm(source, { force: true });
    this.files.push(parquet);
  }
}
