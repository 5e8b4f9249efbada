import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Workspace } from '../support/workspace.ts';
import { pipelineYaml, type PipelineKeys } from '../support/pipeline-yaml.ts';

/**
 * Malformed inputs found by the input audit: each is loaded exactly, or kept as a bad record (or a
 * quarantined file) saying what is wrong and what to do — never dropped, unwrapped or rewritten
 * silently, and the other records and files still load.
 */
let ws: Workspace | undefined;
afterEach(() => ws?.cleanup());

const yaml = (format: string, keys: PipelineKeys = {}) => pipelineYaml({ format, ...keys }, { stateDir: './state' });

function badRecords(w: Workspace, name: string): Record<string, unknown>[] {
  const f = w.files('quarantine').find((x) => x.endsWith(`/${name}.bad-records.ndjson`));
  if (!f) throw new Error(`no bad records for ${name}: ${w.files('quarantine').join(', ')}`);
  return readFileSync(join(w.dir, 'quarantine', f), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
}

describe('an NDJSON line is one object', () => {
  it('a line holding an array is a bad record with a hint, not rows; the other lines and files load', async () => {
    ws = new Workspace(yaml('ndjson', { badRecordsLimit: '50%' }));
    ws.land('landing/a.ndjson', '{"id":1,"v":"a"}\n[{"id":2,"v":"b"},{"id":3,"v":"c"}]\n{"id":4,"v":"d"}\n[1,2,3]\n');
    ws.land('landing/b.ndjson', '{"id":5,"v":"e"}\n');
    const s = await ws.run();
    expect(s.totals).toMatchObject({ staged: 2, quarantined: 0, rowsInserted: 3, rowsRejected: 2 });
    expect((await ws.rows('tables/target', 'id')).map((r) => r.id)).toEqual(['1', '4', '5']);
    expect(badRecords(ws, 'a.ndjson')).toEqual([
      { file: 'a.ndjson', line: 2, column: 1, kind: 'json', error: expect.stringMatching(/^expected one JSON object per line, found an array of 2 values \(.*format: json/), text: '[{"id":2,"v":"b"},{"id":3,"v":"c"}]' },
      { file: 'a.ndjson', line: 4, column: 1, kind: 'json', error: expect.stringMatching(/^expected one JSON object per line, found an array of 3 values/), text: '[1,2,3]' },
    ]);
  });

  it('with badRecords: fail-file the file is quarantined, naming the line and what to do', async () => {
    ws = new Workspace(yaml('ndjson', { badRecords: 'fail-file' }));
    ws.land('landing/a.ndjson', '{"id":1}\n[{"id":2},{"id":3}]\n');
    ws.land('landing/b.ndjson', '{"id":5}\n');
    const s = await ws.run();
    expect(s.totals).toMatchObject({ staged: 1, quarantined: 1, rowsInserted: 1 });
    expect(ws.quarantineError('a.ndjson')).toMatchObject({
      kind: 'json',
      line: 2,
      error: 'expected one JSON object per line, found an array of 2 values',
      hint: expect.stringContaining('each object on a line of its own'),
    });
    expect(ws.files('quarantine').filter((f) => f.endsWith('/a.ndjson'))).toHaveLength(1);
  });
});

describe('a JSON object or array in a text column is stored as JSON text', () => {
  it('into a column the target has as a string: {"a":1}, not DuckDB struct text', async () => {
    ws = new Workspace(yaml('ndjson'));
    ws.land('landing/1.ndjson', '{"id":1,"s":"plain"}\n');
    await ws.run();
    // Each file's column has one type (a STRUCT, a list, a list of STRUCTs), not JSON.
    ws.land('landing/2.ndjson', '{"id":2,"s":{"a":1,"b":"q","c":[true,null]}}\n');
    ws.land('landing/3.ndjson', '{"id":3,"s":[1,2]}\n');
    ws.land('landing/4.ndjson', '{"id":4,"s":[{"k":"v"}]}\n');
    const s = await ws.run();
    expect(s.totals).toMatchObject({ staged: 3, quarantined: 0, rowsInserted: 3, rowsRejected: 0 });
    expect((await ws.rows('tables/target', 'id')).map((r) => [r.id, r.s])).toEqual([
      ['1', 'plain'],
      ['2', '{"a":1,"b":"q","c":[true,null]}'],
      ['3', '[1,2]'],
      ['4', '[{"k":"v"}]'],
    ]);
  });

  it('a column mixing strings and objects in one file: strings as they are, objects as JSON text', async () => {
    ws = new Workspace(yaml('ndjson'));
    ws.land('landing/1.ndjson', '{"id":1,"s":"x"}\n{"id":2,"s":{"a":1}}\n{"id":3,"s":["b",2]}\n{"id":4,"s":null}\n');
    expect((await ws.run()).totals).toMatchObject({ staged: 1, rowsInserted: 4, rowsRejected: 0 });
    expect((await ws.rows('tables/target', 'id')).map((r) => r.s)).toEqual(['x', '{"a":1}', '["b",2]', null]);
    // A later file's plain strings load into the column as they are too.
    ws.land('landing/2.ndjson', '{"id":5,"s":"y"}\n{"id":6,"s":{"z":[]}}\n');
    await ws.run();
    expect((await ws.rows('tables/target', 'id')).map((r) => r.s).slice(4)).toEqual(['y', '{"z":[]}']);
  });
});
