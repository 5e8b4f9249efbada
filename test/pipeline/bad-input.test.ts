import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { csv, Workspace } from '../support/workspace.ts';
import { pipelineYaml, type PipelineKeys } from '../support/pipeline-yaml.ts';

/** Bad input never stops the pipeline and never loses data: quarantine with a located error. */
let ws: Workspace | undefined;
afterEach(() => ws?.cleanup());

const yaml = (format: string, keys: PipelineKeys = {}) => pipelineYaml({ format, ...keys });


describe('quarantine', () => {
  it('each kind of bad CSV goes to quarantine with what and where; the good file of the batch loads', async () => {
    ws = new Workspace(yaml('csv'));
    ws.land('landing/good.csv', csv('id,v', [[1, 'a'], [2, 'b']]));
    ws.land('landing/ragged.csv', 'id,v\n1,a\n2,b,c\n3,c\n');
    ws.land('landing/quote.csv', 'id,v\n1,a\n2,"unterminated\n3,c\n');
    ws.land('landing/empty.csv', '');
    ws.land('landing/blank.csv', '  \n\n');
    ws.land('landing/utf16.csv', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('id,v\n1,a\n', 'utf16le')]));
    ws.land('landing/latin1.csv', Buffer.from('id,v\n1,caf\xe9\n', 'latin1'));
    const s = await ws.run();
    expect(s.totals).toMatchObject({ files: 7, staged: 1, quarantined: 6, rowsInserted: 2 });
    expect(ws.files('landing')).toEqual([]);
    expect(ws.quarantineError('ragged.csv')).toMatchObject({ kind: 'csv', line: 3, error: expect.stringContaining('expected 2 fields') });
    expect(ws.quarantineError('quote.csv')).toMatchObject({ kind: 'csv', line: 3, column: 3, error: 'unterminated quoted field' });
    expect(ws.quarantineError('empty.csv')).toMatchObject({ kind: 'empty' });
    expect(ws.quarantineError('blank.csv')).toMatchObject({ kind: 'empty' });
    expect(ws.quarantineError('utf16.csv')).toMatchObject({ kind: 'encoding', error: expect.stringContaining('UTF-16') });
    expect(ws.quarantineError('latin1.csv')).toMatchObject({ kind: 'encoding', line: 2, column: 6, hint: expect.stringContaining('latin-1') });
    // The bytes are kept as they came.
    const q = ws.files('quarantine').find((f) => f.endsWith('/latin1.csv'))!;
    expect(readFileSync(join(ws.dir, 'quarantine', q))).toEqual(Buffer.from('id,v\n1,caf\xe9\n', 'latin1'));
    const log = await ws.log();
    expect(log.filter((r) => r.status === 'quarantined').map((r) => r.file_name).sort()).toEqual(['blank.csv', 'empty.csv', 'latin1.csv', 'quote.csv', 'ragged.csv', 'utf16.csv']);
    expect(log.find((r) => r.file_name === 'ragged.csv')!.error).toContain('line 3');
  });

  it('invalid JSON and NDJSON with line and column; a value that cannot be cast; a missing key column', async () => {
    ws = new Workspace(yaml('json'));
    ws.land('landing/ok.json', '[{"id": 1, "v": "a"}]');
    ws.land('landing/bad.json', '[{"id": 1,\n  "v": "a" "w": 2}]');
    ws.land('landing/nokey.json', '[{"v": "a"}]');
    await ws.run();
    expect(ws.quarantineError('bad.json')).toMatchObject({ kind: 'json', line: 2, column: 12 });
    expect(ws.quarantineError('nokey.json')).toMatchObject({ kind: 'schema', error: expect.stringContaining("no 'id' column") });
    expect((await ws.rows('tables/target', 'id')).length).toBe(1);
    ws.cleanup();

    ws = new Workspace(yaml('ndjson', { transforms: { n: { cast: 'INTEGER' } } }));
    ws.land('landing/a.ndjson', '{"id": 1, "n": "5"}\n{"id": 2, "n": "6"}\n{"id": 3, "n": 7,}\n');
    ws.land('landing/b.ndjson', '{"id": 4, "n": "x"}\n');
    await ws.run();
    expect(ws.quarantineError('a.ndjson')).toMatchObject({ kind: 'json', line: 3, column: 18 });
    expect(ws.quarantineError('b.ndjson')).toMatchObject({ kind: 'cast', error: expect.stringContaining('x') });
  });

  it("seed 001's pseudo-JSON: quarantined with a hint by default, repaired with json.repair: true", async () => {
    const pseudo = `{'customers': [{'id': 1, 'name': "O'Brien", 'is_active': True, 'created_at': 1698915678000, 'email': None},
  {'id': 2, 'name': 'Ann', 'is_active': False, 'created_at': 1698915679000, 'email': 'a@x.io'}],
 'next_offset': '["1698915678000","63969095"]'}`;
    const extra = (repair: boolean) => ({ json: { repair, path: 'customers' }, transforms: { created_at: { epoch: 'millis' } } });
    ws = new Workspace(yaml('json', extra(false)));
    ws.land('landing/etl.json', pseudo);
    await ws.run();
    expect(ws.quarantineError('etl.json')).toMatchObject({ kind: 'json', line: 1, column: 2, hint: expect.stringContaining('json.repair: true') });
    ws.cleanup();

    ws = new Workspace(yaml('json', extra(true)));
    ws.land('landing/etl.json', pseudo);
    await ws.run();
    expect(await ws.rows('tables/target', 'id')).toEqual([
      { id: '1', name: "O'Brien", is_active: true, created_at: '2023-11-02 09:01:18+00', email: null },
      { id: '2', name: 'Ann', is_active: false, created_at: '2023-11-02 09:01:19+00', email: 'a@x.io' },
    ]);
    const [entry] = await ws.log();
    expect(entry).toMatchObject({ status: 'merged', repaired: true, records: '2' });
    expect(entry.repairs).toContain('single quotes');
  });

  it('nested JSON fan-out: two pipelines with their own json.path read the same landed file, which is archived once', async () => {
    ws = new Workspace(`
pipelines:
  customers:
    landing: ./landing
    format: json
    json: { repair: true, path: customers }
    stage: ./tables/stage_customers
    target: ./tables/customers
    key: id
    archive: ./archive
    quarantine: ./quarantine
  subscriptions:
    landing: ./landing
    format: json
    json: { repair: true, path: subscriptions }
    stage: ./tables/stage_subscriptions
    target: ./tables/subscriptions
    key: [customer_id, plan]
    archive: ./archive
    quarantine: ./quarantine
`);
    ws.land('landing/etl.json', `{'customers': [{'id': 1}, {'id': 2}], 'subscriptions': [{'customer_id': 1, 'plan': 'pro'}, {'customer_id': 1, 'plan': 'team'}, {'customer_id': 2, 'plan': 'pro'}]}`);
    // One pipeline alone keeps the file for the other.
    await ws.run({ only: ['customers'] });
    expect(ws.files('landing')).toEqual(['etl.json']);
    await ws.run({ only: ['customers'] });
    expect((await ws.log('customers')).length).toBe(1);
    await ws.run();
    expect(ws.files('landing')).toEqual([]);
    expect(ws.files('archive')).toHaveLength(1);
    expect((await ws.rows('tables/customers', 'id')).length).toBe(2);
    expect((await ws.rows('tables/subscriptions', 'customer_id, plan')).length).toBe(3);
  });
});
