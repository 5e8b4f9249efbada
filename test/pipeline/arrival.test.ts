import { afterEach, describe, expect, it } from 'vitest';
import { appendFileSync, closeSync, openSync, readFileSync, renameSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { LocalObjectStore } from '../../src/adapters/storage/local/local-object-store.ts';
import { checkArrival, lastRecordProblem } from '../../src/pipeline/arrival.ts';
import { csv, Workspace } from '../support/workspace.ts';
import { pipelineYaml, type PipelineKeys } from '../support/pipeline-yaml.ts';
import { lakelet, startLakelet } from '../support/cli.ts';
import type { LiveProcess } from '../support/process.ts';

/** A file is read only once its writer is done with it (issue 8, point 1). */
let ws: Workspace | undefined;
let watch: LiveProcess | undefined;
afterEach(() => {
  if (watch && watch.child.exitCode === null) watch.child.kill('SIGKILL');
  watch = undefined;
  ws?.cleanup();
});

const yaml = (keys: PipelineKeys = {}) => pipelineYaml({ pattern: '*.csv', orderBy: 'ts', ...keys }, { stateDir: './state' });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Sets a file's mtime to `ago` ms before now (a write that far in the past). */
function age(path: string, ago: number): void {
  const t = new Date(Date.now() - ago);
  utimesSync(path, t, t);
}

describe('the last record must be complete', () => {
  it('tells a cut-off CSV/NDJSON line, an unclosed JSON document and a Parquet file without footer from complete ones', async () => {
    ws = new Workspace(yaml());
    const store = new LocalObjectStore(ws.dir);
    const check = async (name: string, content: string | Buffer, format: 'csv' | 'json' | 'ndjson' | 'parquet') => {
      writeFileSync(join(ws!.dir, name), content);
      return lastRecordProblem(store, format, (await store.head(name))!);
    };
    expect(await check('a.csv', 'id,ts\n1,2023-09-23 10:00:00\n', 'csv')).toBeUndefined();
    expect(await check('b.csv', 'id,ts\n1,2023-09-23', 'csv')).toMatch(/no final newline/);
    expect(await check('c.ndjson', '{"id":1}\n{"id":2', 'ndjson')).toMatch(/no final newline/);
    expect(await check('d.json', '[{"id":1}]\n  ', 'json')).toBeUndefined();
    expect(await check('e.json', '[{"id":1},\n{"id":', 'json')).toMatch(/closing bracket/);
    expect(await check('f.parquet', Buffer.concat([Buffer.from('PAR1'), Buffer.alloc(20), Buffer.from('PAR1')]), 'parquet')).toBeUndefined();
    expect(await check('g.parquet', Buffer.concat([Buffer.from('PAR1'), Buffer.alloc(20)]), 'parquet')).toMatch(/footer/);
    // Starts that no writer's finishing makes loadable are taken now, to be rejected by the read:
    // CSV bytes named .parquet, a JSON scalar, UTF-16 without a byte-order mark (both byte orders).
    expect(await check('h.parquet', 'id,v\n1,a\n2,b\n', 'parquet')).toBeUndefined();
    expect(await check('i.json', '42\n', 'json')).toBeUndefined();
    expect(await check('j.json', '\ufeff  "hello"', 'json')).toBeUndefined();
    expect(await check('k.json', Buffer.from('[{"id": 1}]\n', 'utf16le').subarray(0, 20), 'json')).toBeUndefined();
    const be = Buffer.from('[{"id": 1}]', 'utf16le').swap16();
    expect(await check('l.json', be.subarray(0, 18), 'json')).toBeUndefined();
    // Still waiting: a Parquet file whose start is not written yet (zeros), a JSON document whose
    // start is whitespace so far.
    expect(await check('m.parquet', Buffer.alloc(64), 'parquet')).toMatch(/footer/);
    expect(await check('n.json', '   ', 'json')).toBeUndefined();
    expect(await check('o.json', '\n  [{"id": 1}, ', 'json')).toMatch(/closing bracket/);
  });

  it('a text file (CSV, NDJSON, JSON) whose start is already not UTF-8 is taken at once, to be rejected for its encoding, not left waiting', async () => {
    ws = new Workspace(yaml());
    const store = new LocalObjectStore(ws.dir);
    const check = async (name: string, content: Buffer) => {
      writeFileSync(join(ws!.dir, name), content);
      return lastRecordProblem(store, 'csv', (await store.head(name))!);
    };
    const latin1 = Buffer.from('id,name\n1,Jos\xe9\n2,Zo\xeb', 'latin1');
    expect(await check('latin1.csv', latin1)).toBeUndefined();
    // Random bytes past the first 4 KiB read: the head decides.
    const binary = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0xc3, 0x28]), Buffer.alloc(9000, 0x41)]);
    expect(await check('image.csv', binary)).toBeUndefined();
    expect(await check('utf16.csv', Buffer.from('\ufeffid,name\r\n1,a', 'utf16le'))).toBeUndefined();
    writeFileSync(join(ws.dir, 'cp1252.json'), Buffer.from('[{"id": 1, "name": "Jos\xe9"}, {"id": 2', 'latin1'));
    expect(await lastRecordProblem(store, 'json', (await store.head('cp1252.json'))!)).toBeUndefined();
    writeFileSync(join(ws.dir, 'cut.json'), '[{"id": 1, "name": "José"}, {"id": 2');
    expect(await lastRecordProblem(store, 'json', (await store.head('cut.json'))!)).toMatch(/closing bracket/);
    // Still waiting: valid UTF-8 cut off mid-record, a multi-byte character cut by the end of the
    // 4 KiB head, and zeros (a preallocating copy that has not written its start yet).
    expect(await check('cut.csv', Buffer.from('id,name\n1,Zoë\n2,Jo'))).toMatch(/no final newline/);
    expect(await check('mid-char.csv', Buffer.from('id,name\n1,Zo\xc3', 'latin1'))).toMatch(/no final newline/);
    expect(await check('mid-char4.csv', Buffer.from('id,name\n1,\xf0\x9f\x98', 'latin1'))).toMatch(/no final newline/);
    expect(await check('bad-end.csv', Buffer.from('id,name\n1,Zo\xc3\x28', 'latin1'))).toBeUndefined();
    // (11 bytes, then 2-byte characters: the head's last byte, 4095, starts one.)
    const longRow = Buffer.concat([Buffer.from('id,name\n1,x'), Buffer.from('é'.repeat(3000)), Buffer.from('\n2,x')]);
    expect(longRow[4095]).toBe(0xc3);
    expect(await check('long.csv', longRow)).toMatch(/no final newline/);
    expect(await check('prealloc.csv', Buffer.alloc(8192))).toMatch(/no final newline/);

    // Through a run: quarantined now with the encoding error, without waiting for the timeout.
    ws.land('landing/export.csv', latin1);
    const s = await ws.run();
    expect(s.totals).toMatchObject({ files: 1, quarantined: 1, rowsStaged: 0, waiting: 0 });
    const q = ws.files('quarantine');
    const error = JSON.parse(readFileSync(join(ws.dir, 'quarantine', q.find((f) => f.endsWith('.error.json'))!), 'utf8'));
    expect(error).toMatchObject({ kind: 'encoding', error: expect.stringContaining('not valid UTF-8') });
  });

  it('many files: each file gets its own verdict, in the candidates\' order, though their tails are read a few at a time', async () => {
    ws = new Workspace(yaml());
    const store = new LocalObjectStore(join(ws.dir, 'landing'));
    // An irregular set of files cut off, the others whole: a verdict taken for another file shows.
    const cut = new Set([1, 2, 5, 11, 17, 18, 26]);
    const names = Array.from({ length: 30 }, (_, i) => `f${String(i).padStart(2, '0')}.csv`);
    names.forEach((n, i) => {
      const rows = Array.from({ length: i + 1 }, (_, r) => `${r},2023-09-20 10:00:00,1.00`).join('\n');
      ws!.land(`landing/${n}`, `id,ts,amount\n${rows}${cut.has(i) ? ',2.' : '\n'}`);
      age(join(ws!.dir, 'landing', n), 5_000);
    });
    const candidates = (await store.list('')).sort((a, b) => (a.key < b.key ? -1 : 1));
    const pipeline = ws.config().pipelines[0];
    const out = await checkArrival(store, pipeline, candidates);
    expect(out.ready.map((f) => f.key)).toEqual(names.filter((_, i) => !cut.has(i)));
    expect(out.waiting.map((w) => w.key)).toEqual(names.filter((_, i) => cut.has(i)));
    expect(out.waiting.every((w) => /no final newline/.test(w.reason))).toBe(true);
    expect(out.abandoned).toEqual([]);
  });

  it('a file whose last row is cut off waits (with the reason), then loads whole once finished', async () => {
    ws = new Workspace(yaml());
    const path = join(ws.dir, 'landing', 'accounts.csv');
    ws.land('landing/accounts.csv', 'id,ts,amount\n1,2023-09-20 10:00:00,44.60\n2,2023-09-23');
    age(path, 5_000); // stable for longer than arrival.stable, well within arrival.incompleteTimeout
    const first = await ws.run();
    expect(first.totals).toMatchObject({ files: 0, waiting: 1 });
    expect(ws.files('landing')).toEqual(['accounts.csv']);
    expect(await ws.rows('tables/target', 'id')).toEqual([]);

    appendFileSync(path, ' 11:30:00,12.00\n');
    age(path, 5_000);
    const second = await ws.run();
    expect(second.totals).toMatchObject({ files: 1, staged: 1, quarantined: 0, waiting: 0, rowsInserted: 2 });
    const rows = await ws.rows('tables/target', 'id');
    expect(rows.map((r) => String(r.ts))).toEqual(['2023-09-20 10:00:00', '2023-09-23 11:30:00']);
  });

  it('a file still incomplete after arrival.incompleteTimeout is quarantined unread, bytes kept', async () => {
    ws = new Workspace(yaml({ arrival: { incompleteTimeout: '1m' } }));
    ws.land('landing/dead-writer.csv', 'id,ts\n1,2023-09-23 10:00:00\n2,2023-09-2');
    age(join(ws.dir, 'landing', 'dead-writer.csv'), 120_000);
    const s = await ws.run();
    expect(s.totals).toMatchObject({ files: 1, quarantined: 1, rowsStaged: 0 });
    const q = ws.files('quarantine');
    const error = JSON.parse(readFileSync(join(ws.dir, 'quarantine', q.find((f) => f.endsWith('.error.json'))!), 'utf8'));
    expect(error).toMatchObject({ kind: 'incomplete', error: expect.stringContaining('no final newline') });
    expect(readFileSync(join(ws.dir, 'quarantine', q.find((f) => f.endsWith('dead-writer.csv'))!), 'utf8')).toBe('id,ts\n1,2023-09-23 10:00:00\n2,2023-09-2');
  });
});

describe('stability window, temporary names and completion markers', () => {
  it('a young file that changes during the stability window waits for the next look', async () => {
    ws = new Workspace(yaml());
    const store = new LocalObjectStore(join(ws.dir, 'landing'));
    const path = join(ws.dir, 'landing', 'growing.csv');
    ws.land('landing/growing.csv', 'id,ts\n1,2023-09-23 10:00:00\n');
    age(path, 100);
    const head = (await store.head('growing.csv'))!;
    const pipeline = ws.config().pipelines[0];
    let waited = 0;
    const result = await checkArrival(store, pipeline, [head], {
      // The writer appends while the pipeline watches the file.
      sleep: async (ms) => {
        waited = ms;
        appendFileSync(path, '2,2023-09-23 10:00:01\n');
      },
    });
    expect(waited).toBeGreaterThan(0);
    expect(waited).toBeLessThanOrEqual(pipeline.arrival.stableMs);
    expect(result.ready).toEqual([]);
    expect(result.waiting).toEqual([{ key: 'growing.csv', reason: expect.stringContaining('still being written') }]);

    // Unchanged through the window: taken.
    const again = await checkArrival(store, pipeline, [(await store.head('growing.csv'))!], { sleep: async () => {} });
    expect(again.ready.map((f) => f.key)).toEqual(['growing.csv']);
  });

  it('temporary and hidden names are never taken; the renamed file is', async () => {
    ws = new Workspace(yaml({ pattern: '*' }));
    ws.land('landing/data.csv.tmp', csv('id,ts', [[1, '2024-01-01 00:00:00']]));
    ws.land('landing/.data2.csv', csv('id,ts', [[2, '2024-01-01 00:00:00']]));
    ws.land('landing/data3.csv.part', csv('id,ts', [[3, '2024-01-01 00:00:00']]));
    expect((await ws.run()).totals).toMatchObject({ files: 0, quarantined: 0 });
    renameSync(join(ws.dir, 'landing/data.csv.tmp'), join(ws.dir, 'landing/data.csv'));
    expect((await ws.run()).totals).toMatchObject({ files: 1, staged: 1, rowsInserted: 1 });
    expect(ws.files('landing')).toEqual(['.data2.csv', 'data3.csv.part']);
  });

  it('marker: done — a file waits for <name>.done, which is archived with it', async () => {
    ws = new Workspace(yaml({ arrival: { marker: 'done' } }));
    ws.land('landing/a.csv', csv('id,ts', [[1, '2024-01-01 00:00:00']]));
    expect((await ws.run()).totals).toMatchObject({ files: 0, waiting: 1 });
    ws.land('landing/a.csv.done', '');
    expect((await ws.run()).totals).toMatchObject({ files: 1, staged: 1, waiting: 0 });
    expect(ws.files('landing')).toEqual([]);
    const archived = ws.files('archive');
    expect(archived.filter((f) => f.endsWith('/a.csv') || f.endsWith('/a.csv.done'))).toHaveLength(2);
  });

  it('marker: success — files of a folder wait for its _SUCCESS, which leaves with the last of them', async () => {
    ws = new Workspace(yaml({ arrival: { marker: 'success' }, pattern: '**/*.csv' }));
    ws.land('landing/run1/part-0.csv', csv('id,ts', [[1, '2024-01-01 00:00:00']]));
    ws.land('landing/run1/part-1.csv', csv('id,ts', [[2, '2024-01-01 00:00:00']]));
    ws.land('landing/run2/part-0.csv', csv('id,ts', [[3, '2024-01-01 00:00:00']]));
    ws.land('landing/run1/_SUCCESS', '');
    const s = await ws.run();
    expect(s.totals).toMatchObject({ files: 2, staged: 2, waiting: 1, rowsInserted: 2 });
    expect(ws.files('landing')).toEqual(['run2/part-0.csv']);
    expect(ws.files('archive').filter((f) => f.endsWith('run1/_SUCCESS'))).toHaveLength(1);
  });
});

describe('a landing file overwritten after its batch was planned', () => {
  it('is taken out of the batch (logged as replaced) and its new content loads as a new delivery', async () => {
    ws = new Workspace(yaml());
    ws.land('landing/a.csv', csv('id,ts,v', [[1, '2024-01-01 00:00:00', 'old']]));
    ws.land('landing/b.csv', csv('id,ts,v', [[2, '2024-01-01 00:00:00', 'b']]));
    const args = ['run', '--once', '-c', ws.configFile, '--log-format', 'json'];
    expect((await lakelet(args, { env: { LAKELET_CRASH_AT: 'after-manifest' } })).signal).toBe('SIGKILL');
    ws.land('landing/a.csv', csv('id,ts,v', [[1, '2024-01-02 00:00:00', 'new']]));
    const redo = await lakelet(args);
    expect(redo.stderr).toContain('file.replaced');
    expect(redo.stderr).toContain('the planned bytes');
    const rows = await ws.rows('tables/target', 'id');
    expect(rows.map((r) => [Number(r.id), r.v])).toEqual([[1, 'new'], [2, 'b']]);
    const log = await ws.log();
    expect(log.map((r) => [Number(r.batch), r.file_name, r.status])).toEqual([
      [1, 'a.csv', 'replaced'],
      [1, 'b.csv', 'merged'],
      [2, 'a.csv', 'merged'],
    ]);
    expect(ws.files('landing')).toEqual([]);
  });
});

describe('lakelet watch --trigger poll and a writer that pauses mid-row', () => {
  it('never merges the cut-off row: the file loads whole once the rest is written', async () => {
    ws = new Workspace(yaml());
    const header = 'id,ts,amount,note\n';
    const lines: string[] = [];
    let size = header.length;
    for (let i = 1; size < 2_100_000; i++) {
      const line = `${i},2023-09-23 ${String(i % 24).padStart(2, '0')}:00:00,${(i % 997) + 0.5},note-${i}\n`;
      lines.push(line);
      size += line.length;
    }
    const text = header + lines.join('');
    watch = startLakelet(['watch', '-c', ws.configFile, '--trigger', 'poll', '--interval-ms', '300', '--log-format', 'json', '--json']);
    const { child, stderr } = watch;
    const end = Date.now() + 30_000;
    while (!stderr().includes('watch.started') && Date.now() < end) await sleep(100);

    const path = join(ws.dir, 'landing', 'big.csv');
    const fd = openSync(path, 'w');
    writeSync(fd, text.slice(0, 2_000_000));
    await sleep(3_000);
    expect(stderr()).toContain('no final newline');
    writeSync(fd, text.slice(2_000_000));
    closeSync(fd);

    const until = Date.now() + 60_000;
    while (!stderr().includes('"batch.done"') && Date.now() < until) await sleep(200);
    child.kill('SIGTERM');
    const { stdout } = await watch.exited;
    const summary = JSON.parse(stdout);
    expect(summary.totals).toMatchObject({ files: 1, quarantined: 0, rowsInserted: lines.length });
    const rows = await ws.rows('tables/target', 'id', `id = ${lines.length}`);
    const last = lines[lines.length - 1].trim().split(',');
    expect(rows).toHaveLength(1);
    expect(String(rows[0].ts)).toBe(last[1]);
    expect(String(rows[0].note)).toBe(last[3]);
  });
});
