import { afterEach, describe, expect, it } from 'vitest';
import { DuckDBInstance } from '@duckdb/node-api';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { csv, Workspace } from '../support/workspace.ts';
import { pipelineYaml, type PipelineKeys } from '../support/pipeline-yaml.ts';
import { detectDelimiter } from '../../src/pipeline/csv-delimiter.ts';

/**
 * Malformed inputs the audit found: each is quarantined with an error naming the file and a hint
 * saying what to do, the other files of the batch load, and later runs are not held up by it.
 */
let ws: Workspace | undefined;
afterEach(() => ws?.cleanup());

const yaml = (keys: PipelineKeys = {}) => pipelineYaml({ format: 'csv', ...keys });

/** A Parquet file written by DuckDB from a SELECT, as bytes. */
async function parquet(dir: string, select: string): Promise<Buffer> {
  const file = join(dir, `tmp-${Math.random().toString(36).slice(2)}.parquet`);
  const instance = await DuckDBInstance.create(':memory:');
  const c = await instance.connect();
  try {
    await c.run(`COPY (${select}) TO '${file}' (FORMAT parquet)`);
  } finally {
    c.closeSync();
    instance.closeSync();
  }
  return readFileSync(file);
}

describe('a column Delta cannot store', () => {
  it('a CSV TIME column quarantines its file with the transform that fixes it; the good file loads, and the next run is not stuck', async () => {
    ws = new Workspace(yaml());
    ws.land('landing/time.csv', 'id,at\n1,12:30:00\n');
    ws.land('landing/good.csv', csv('id,at', [[2, 'x']]));
    const s = await ws.run();
    expect(s.totals).toMatchObject({ files: 2, staged: 1, quarantined: 1, rowsInserted: 1 });
    expect(ws.quarantineError('time.csv')).toMatchObject({
      file: 'time.csv',
      kind: 'schema',
      error: expect.stringMatching(/Column at has DuckDB type TIME, which a Delta table cannot store/),
      hint: expect.stringContaining('transforms: { at: { cast: VARCHAR } }'),
    });
    expect(ws.files('landing')).toEqual([]);
    // A file landed after it loads on the next run.
    ws.land('landing/later.csv', csv('id,at', [[3, 'y']]));
    await ws.run();
    expect((await ws.rows('tables/target', 'id')).map((r) => r.id)).toEqual(['2', '3']);
  });

  it('the hinted transform loads the file; Parquet TIME and INTERVAL columns are quarantined the same way', async () => {
    ws = new Workspace(yaml({ transforms: { at: { cast: 'VARCHAR' } } }));
    ws.land('landing/time.csv', 'id,at\n1,12:30:00\n');
    await ws.run();
    expect(await ws.rows('tables/target', 'id')).toEqual([{ id: '1', at: '12:30:00' }]);
    ws.cleanup();

    ws = new Workspace(yaml({ format: 'parquet' }));
    ws.land('landing/time.parquet', await parquet(ws.dir, "SELECT 1 AS id, TIME '12:30:00' AS at"));
    ws.land('landing/span.parquet', await parquet(ws.dir, 'SELECT 2 AS id, INTERVAL 3 DAY AS d'));
    ws.land('landing/good.parquet', await parquet(ws.dir, 'SELECT 3 AS id'));
    const s = await ws.run();
    expect(s.totals).toMatchObject({ files: 3, staged: 1, quarantined: 2 });
    expect(ws.quarantineError('time.parquet')).toMatchObject({ kind: 'schema', error: expect.stringContaining('TIME'), hint: expect.stringContaining('transforms: { at: { cast: VARCHAR } }') });
    expect(ws.quarantineError('span.parquet')).toMatchObject({ kind: 'schema', error: expect.stringContaining('INTERVAL'), hint: expect.stringContaining('transforms: { d: { cast: VARCHAR } }') });
  });

  it('a batch planned before the check (its manifest lets the TIME file through) is redone without it: quarantined, the rest staged', async () => {
    ws = new Workspace(yaml());
    const landed = [ws.land('landing/time.csv', 'id,at\n1,12:30:00\n'), ws.land('landing/good.csv', csv('id,at', [[2, 'x']]))];
    // The manifest an earlier lakelet wrote, whose stage commit then failed on the TIME column.
    const files = landed.map((path) => {
      const bytes = readFileSync(path);
      const st = statSync(path);
      return { key: path.split('/').pop(), size: bytes.length, mtime: st.mtimeMs, sha256: createHash('sha256').update(bytes).digest('hex'), outcome: 'stage', records: 1 };
    });
    const batches = join(ws.config().pipelines[0].stateDir, 'p', 'batches');
    mkdirSync(batches, { recursive: true });
    const at = ws.clock.now();
    writeFileSync(join(batches, '000000000001.json'), JSON.stringify({ pipeline: 'p', seq: 1, batchId: 'abcd1234', createdAt: at, ingestedAt: at, folder: '2024/05/17/20240517T083000000Z-abcd1234', files, readMs: 1 }));
    const s = await ws.run();
    expect(s.totals).toMatchObject({ staged: 1, quarantined: 1, rowsInserted: 1 });
    expect(ws.quarantineError('time.csv')).toMatchObject({ kind: 'schema', hint: expect.stringContaining('transforms: { at: { cast: VARCHAR } }') });
    expect(ws.files('landing')).toEqual([]);
    const log = await ws.log();
    expect(log.map((r) => [r.file_name, r.status])).toEqual([
      ['good.csv', 'merged'],
      ['time.csv', 'quarantined'],
    ]);
    // Finished: the next run plans a new batch.
    ws.land('landing/later.csv', csv('id,at', [[3, 'y']]));
    await ws.run();
    expect((await ws.rows('tables/target', 'id')).map((r) => r.id)).toEqual(['2', '3']);
  });
});

describe('the CSV delimiter', () => {
  it('is detected per file when csv.delimiter is not set (; tab | and ,), quotes respected', async () => {
    ws = new Workspace(yaml());
    ws.land('landing/semi.csv', 'id;name;amount\n1;a;2,5\n2;"b;c";3\n');
    ws.land('landing/tab.csv', 'id\tname\tamount\n3\tx\t1\n');
    ws.land('landing/pipe.csv', 'id|name|amount\n4|y|1\n');
    ws.land('landing/comma.csv', 'id,name,amount\n5,z,1\n');
    const s = await ws.run();
    expect(s.totals).toMatchObject({ files: 4, staged: 4, quarantined: 0 });
    expect((await ws.rows('tables/target', 'id')).map((r) => [r.id, r.name, r.amount])).toEqual([
      ['1', 'a', '2,5'],
      ['2', 'b;c', '3'],
      ['3', 'x', '1'],
      ['4', 'y', '1'],
      ['5', 'z', '1'],
    ]);
  });

  it('detection: a comma that splits every sampled record evenly is kept; otherwise what most records agree with', () => {
    expect(detectDelimiter('id,name\n1,"a;b"\n2,"c;d"\n')).toBe(',');
    expect(detectDelimiter('id;v\n1;"x\ny,z"\n')).toBe(';');
    expect(detectDelimiter('id;v\n1;2\n3;4;5\n')).toBe(';');
    expect(detectDelimiter('id;name\n')).toBe(';');
    expect(detectDelimiter('id\n1\n')).toBe(',');
    expect(detectDelimiter('id:v\n1:2\n')).toBe(',');
    // With a backslash escape, an escaped quote does not end the quoted field (the | after it is data).
    const escaped = 'id|v\n' + '1|"x\\"|y"\n2|"p\\"|q"\n'.repeat(2);
    expect(detectDelimiter(escaped, '"', '\\')).toBe('|');
    expect(detectDelimiter(escaped)).toBe(',');
    // Only the first 8 KB are read: a record cut off there is not counted.
    expect(detectDelimiter('a|b\n' + '1|2\n'.repeat(3000) + '1,2,3,4\n')).toBe('|');
  });

  it('a file still read as one column says the delimiter it used and how to set it', async () => {
    ws = new Workspace(yaml());
    ws.land('landing/colon.csv', 'id:name\n1:a\n');
    await ws.run();
    expect(ws.quarantineError('colon.csv')).toMatchObject({
      kind: 'schema',
      error: expect.stringContaining('read with delimiter ","'),
      hint: expect.stringContaining('csv: { delimiter:'),
    });
  });
});

describe('every quarantine document has a hint', () => {
  it('empty, unterminated quote, missing key, damaged Parquet (cleaned, named by its key)', async () => {
    ws = new Workspace(yaml());
    ws.land('landing/zero.csv', '');
    ws.land('landing/blank.csv', '  \n\n');
    ws.land('landing/quote.csv', 'id,v\n1,"abc\n');
    ws.land('landing/nokey.csv', 'x,v\n1,a\n');
    await ws.run();
    for (const name of ['zero.csv', 'blank.csv', 'quote.csv', 'nokey.csv']) expect(ws.quarantineError(name).hint, name).toMatch(/\w/);
    expect(ws.quarantineError('quote.csv').hint).toContain('never closes');
    expect(ws.quarantineError('nokey.csv').hint).toContain('rename: id');
    ws.cleanup();

    ws = new Workspace(yaml({ format: 'parquet' }));
    // A Parquet footer marker after text: it looks complete (arrival), but DuckDB cannot read it.
    ws.land('landing/bad.parquet', 'id,v\n1,a\nPAR1');
    await ws.run();
    const doc = ws.quarantineError('bad.parquet');
    expect(doc).toMatchObject({ kind: 'parquet', hint: expect.stringContaining('lakelet requeue bad.parquet') });
    expect(doc.error).toContain("'bad.parquet'");
    expect(doc.error).not.toContain(ws.dir);
    expect(doc.error).not.toMatch(/\^/);
  });
});

describe('a CSV header naming a column twice', () => {
  it('is quarantined naming the column, not loaded with a made-up name_1', async () => {
    ws = new Workspace(yaml());
    ws.land('landing/dup.csv', 'id,name,name,ts\n1,a,b,2024-01-01\n');
    ws.land('landing/case.csv', 'id,Name,name\n2,a,b\n');
    ws.land('landing/good.csv', csv('id,name', [[3, 'c']]));
    const s = await ws.run();
    expect(s.totals).toMatchObject({ staged: 1, quarantined: 2 });
    expect(ws.quarantineError('dup.csv')).toMatchObject({ kind: 'csv', error: expect.stringContaining("column 'name' twice"), hint: expect.stringContaining('rename one of them') });
    expect(ws.quarantineError('case.csv')).toMatchObject({ kind: 'csv', error: expect.stringContaining("'Name' and 'name'") });
    expect(Object.keys((await ws.rows('tables/stage', 'id'))[0])).not.toContain('name_1');
  });
});
