import { afterEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalObjectStore } from '../../src/adapters/storage/local/local-object-store.ts';
import { moveOnce, sha256 } from '../../src/pipeline/file-mover.ts';
import { PipelineStateError } from '../../src/pipeline/errors.ts';
import { canMountTmpfs, mountTmpfs, resizeTmpfs, unmount } from '../support/tmpfs.ts';
import { csv, Workspace } from '../support/workspace.ts';
import { pipelineYaml, type PipelineKeys } from '../support/pipeline-yaml.ts';
import { lakelet } from '../support/cli.ts';
import { startProcess } from '../support/process.ts';

/**
 * Archive layout, deletes, duplicate deliveries, and the crash matrix: the real CLI killed with
 * SIGKILL at each step boundary, then run again.
 */
let ws: Workspace | undefined;
afterEach(() => ws?.cleanup());

const HEADER = 'customer_id,account_number,credit_score,account_balance,last_modified,op';
const accounts: PipelineKeys = { pattern: '*.csv', target: './tables/accounts', key: 'account_number', orderBy: 'last_modified', deletes: { column: 'op', values: ['D'] } };
const yaml = (keys: PipelineKeys = {}) => pipelineYaml({ ...accounts, ...keys }, { name: 'accounts', stateDir: './state' });

const initial = csv(HEADER, [
  ['C1', 'A1', 700, 100.5, '2024-01-01 00:00:00', 'I'],
  ['C2', 'A2', 650, 20, '2024-01-01 00:00:00', 'I'],
  ['C3', 'A3', 600, 5, '2024-01-01 00:00:00', 'I'],
  ['C4', 'A4', 610, 6, '2024-01-01 00:00:00', 'I'],
]);
const incremental = csv(HEADER, [
  ['C1', 'A1', 710, 200, '2024-01-02 00:00:00', 'U'],
  ['C2', 'A2', 650, 20, '2024-01-02 00:00:00', 'D'],
  ['C5', 'A5', 800, 1, '2024-01-02 00:00:00', 'I'],
  // An older change arriving late never replaces a newer row.
  ['C3', 'A3', 100, 0, '2023-12-31 00:00:00', 'U'],
]);
const expected = [
  { customer_id: 'C1', account_number: 'A1', credit_score: '710', account_balance: 200, last_modified: '2024-01-02 00:00:00' },
  { customer_id: 'C3', account_number: 'A3', credit_score: '600', account_balance: 5, last_modified: '2024-01-01 00:00:00' },
  { customer_id: 'C4', account_number: 'A4', credit_score: '610', account_balance: 6, last_modified: '2024-01-01 00:00:00' },
  { customer_id: 'C5', account_number: 'A5', credit_score: '800', account_balance: 1, last_modified: '2024-01-02 00:00:00' },
];

describe('archive, deletes, duplicates', () => {
  it('archives under <yyyy>/<mm>/<dd>/<timestamp>-<id>/ from the injected clock; deletes by marker; late older rows ignored', async () => {
    ws = new Workspace(yaml());
    ws.land('landing/initial.csv', initial);
    await ws.run();
    ws.clock.set(Date.UTC(2024, 4, 18, 23, 59, 59, 5));
    ws.land('landing/incremental.csv', incremental);
    const s = await ws.run();
    expect(s.totals).toMatchObject({ rowsInserted: 1, rowsUpdated: 1, rowsDeleted: 1 });
    expect(await ws.rows('tables/accounts', 'account_number')).toEqual(expected);
    const archived = ws.files('archive');
    expect(archived).toHaveLength(2);
    expect(archived[0]).toMatch(/^2024\/05\/17\/20240517T083000000Z-[0-9a-f]{8}\/initial\.csv$/);
    expect(archived[1]).toMatch(/^2024\/05\/18\/20240518T235959005Z-[0-9a-f]{8}\/incremental\.csv$/);
    expect(readFileSync(join(ws.dir, 'archive', archived[0]), 'utf8')).toBe(initial);
  });

  it('boolean delete markers (is_deleted true)', async () => {
    ws = new Workspace(yaml({ deletes: { column: 'is_deleted', values: [true] } }));
    ws.land('landing/a.csv', csv('account_number,last_modified,is_deleted', [['A1', 1, 'false'], ['A2', 1, 'false']]));
    ws.land('landing/b.csv', csv('account_number,last_modified,is_deleted', [['A1', 2, 'true'], ['A3', 2, 'true']]));
    await ws.run();
    expect(await ws.rows('tables/accounts', 'account_number')).toEqual([{ account_number: 'A2', last_modified: '1' }]);
  });

  it('a file delivered twice (same name and content) is logged as duplicate, archived, and not applied again', async () => {
    ws = new Workspace(yaml());
    ws.land('landing/initial.csv', initial);
    await ws.run();
    ws.land('landing/incremental.csv', incremental);
    await ws.run();
    ws.land('landing/initial.csv', initial);
    const s = await ws.run();
    expect(s.totals).toMatchObject({ files: 1, duplicates: 1, rowsStaged: 0, rowsInserted: 0 });
    expect(await ws.rows('tables/accounts', 'account_number')).toEqual(expected);
    expect(ws.files('landing')).toEqual([]);
    expect(ws.files('archive').filter((f) => f.endsWith('/initial.csv'))).toHaveLength(2);
    const log = await ws.log();
    expect(log.map((r) => [r.batch, r.file_name, r.status])).toEqual([
      ['1', 'initial.csv', 'merged'],
      ['2', 'incremental.csv', 'merged'],
      ['3', 'initial.csv', 'duplicate'],
    ]);
    // Same name, new content: a new delivery.
    ws.land('landing/initial.csv', csv(HEADER, [['C9', 'A9', 1, 1, '2024-02-01 00:00:00', 'I']]));
    expect((await ws.run()).totals).toMatchObject({ duplicates: 0, rowsInserted: 1 });
  });

  it('moveOnce never overwrites: an existing destination with other bytes is refused and the source kept', async () => {
    ws = new Workspace(yaml());
    writeFileSync(join(ws.dir, 'x.csv'), 'new');
    const from = new LocalObjectStore(ws.dir);
    const to = new LocalObjectStore(join(ws.dir, 'archive'));
    await to.put('d/x.csv', 'old');
    await expect(moveOnce(from, 'x.csv', to, 'd/x.csv', sha256(Buffer.from('new')), 'p')).rejects.toBeInstanceOf(PipelineStateError);
    expect(readFileSync(join(ws.dir, 'archive/d/x.csv'), 'utf8')).toBe('old');
    expect(readFileSync(join(ws.dir, 'x.csv'), 'utf8')).toBe('new');
    // Same bytes already there (a move interrupted after the copy): finish by removing the source.
    await to.put('d/y.csv', 'new');
    writeFileSync(join(ws.dir, 'y.csv'), 'new');
    expect(await moveOnce(from, 'y.csv', to, 'd/y.csv', sha256(Buffer.from('new')), 'p')).toBe('moved');
    expect(ws.files('.').includes('y.csv')).toBe(false);
  });
});

const POINTS = ['after-manifest', 'after-quarantine', 'after-stage-commit', 'after-archive', 'after-target-commit', 'after-log'];

describe('crash matrix: SIGKILL at each step boundary, then restart', () => {
  for (const point of [...POINTS, 'after-stage-commit:2', 'after-target-commit:2']) {
    it(`crash ${point}`, async () => {
      const secondBatch = point.endsWith(':2');
      ws = new Workspace(yaml(secondBatch ? { batch: { maxFiles: 2 } } : {}));
      ws.land('landing/initial.csv', initial);
      ws.land('landing/broken.csv', `${HEADER}\nC9,A9,1,1\n`);
      ws.land('landing/incremental.csv', incremental);
      const args = ['run', '--once', '-c', ws.configFile, '--json', '--log-format', 'json'];
      const crashed = await lakelet(args, { env: { LAKELET_CRASH_AT: point } });
      expect(crashed.signal, crashed.stderr).toBe('SIGKILL');
      const again = await lakelet(args);
      // broken.csv is in batch 1: when the restart finishes that batch, not everything went in (exit 3);
      // when the crash was in batch 2, the crashed run had already finished batch 1 and this one quarantines nothing.
      expect(again.code, again.stderr).toBe(secondBatch ? 0 : 3);
      const summary = JSON.parse(again.stdout);
      expect(summary.totals.recovered).toBe(1);
      expect(again.stderr).toContain('"event":"batch.recover"');

      // The target is exactly what one clean run gives.
      expect(await ws.rows('tables/accounts', 'account_number')).toEqual(expected);
      // Every source row staged exactly once.
      const stage = await ws.rows('tables/stage', '_source_file, _row_number');
      expect(stage.map((r) => `${r._source_file}#${r._row_number}`)).toEqual([...[1, 2, 3, 4].map((n) => `incremental.csv#${n}`), ...[1, 2, 3, 4].map((n) => `initial.csv#${n}`)]);
      // Each file moved exactly once; nothing left in landing.
      expect(ws.files('landing')).toEqual([]);
      expect(ws.files('archive').map((f) => f.split('/').pop()).sort()).toEqual(['incremental.csv', 'initial.csv']);
      expect(ws.files('quarantine').map((f) => f.split('/').pop()).sort()).toEqual(['broken.csv', 'broken.csv.error.json']);
      // One log row per file, consistent with the outcome.
      const log = await ws.log();
      expect(log.map((r) => [r.file_name, r.status, r.records]).sort()).toEqual([
        ['broken.csv', 'quarantined', '0'],
        ['incremental.csv', 'merged', '4'],
        ['initial.csv', 'merged', '4'],
      ]);
      for (const r of log.filter((x) => x.status === 'merged')) expect(r.target_version).not.toBeNull();
      // The lock was taken over from the killed process and released.
      expect(ws.files('state/accounts')).not.toContain('lock');
    });
  }
});

describe('one runner per pipeline', () => {
  it('a second runner is refused while the first holds the lock', async () => {
    ws = new Workspace(yaml());
    const { PipelineRunner } = await import('../../src/pipeline/runner.ts');
    const { PipelineBusyError } = await import('../../src/pipeline/errors.ts');
    const first = await PipelineRunner.open(ws.config());
    try {
      await expect(PipelineRunner.open(ws.config())).rejects.toBeInstanceOf(PipelineBusyError);
    } finally {
      await first.close();
    }
    const again = await PipelineRunner.open(ws.config());
    await again.close();
  });
});

describe('crash with repaired JSON: the redo repairs and stages the same rows', () => {
  for (const point of ['after-manifest', 'after-stage-commit']) {
    it(`crash ${point}`, async () => {
      ws = new Workspace(
        pipelineYaml(
          { format: 'json', json: { repair: true, path: 'customers' }, target: './tables/customers', transforms: { created_at: { epoch: 'millis' } } },
          { name: 'customers', stateDir: './state' },
        ),
      );
      ws.land('landing/etl.json', `{'customers': [{'id': 1, 'ok': True, 'created_at': 1698915678000}, {'id': 2, 'ok': None, 'created_at': 1698915679000}]}`);
      const args = ['run', '--once', '-c', ws.configFile, '--json'];
      expect((await lakelet(args, { env: { LAKELET_CRASH_AT: point } })).signal).toBe('SIGKILL');
      const again = await lakelet(args);
      expect(again.code, again.stderr).toBe(0);
      expect(await ws.rows('tables/customers', 'id')).toEqual([
        { id: '1', ok: true, created_at: '2023-11-02 09:01:18+00' },
        { id: '2', ok: null, created_at: '2023-11-02 09:01:19+00' },
      ]);
      expect((await ws.rows('tables/stage', 'id')).length).toBe(2);
      const log = await ws.log();
      expect(log).toHaveLength(1);
      expect(log[0]).toMatchObject({ status: 'merged', repaired: true, records: '2' });
      expect(ws.files('state/customers').filter((f) => f.startsWith('work'))).toEqual([]);
    });
  }
});

describe('leftovers and full disks', () => {
  it('a run removes .lakelet-tmp files a killed move left in archive/ and quarantine/, never a live writer\'s', async () => {
    ws = new Workspace(yaml());
    const dead = startProcess(process.execPath, ['-e', '']);
    await dead.exited;
    const leftovers = [`archive/2024/05/17/x/.lakelet-tmp-${dead.child.pid}-a`, `quarantine/2024/05/17/x/.lakelet-tmp-${dead.child.pid}-b`];
    // Fresh files (mtime now): the dead ones go because their writer is gone, not because of their age.
    mkdirSync(join(ws.dir, 'archive/2024/05/17/x'), { recursive: true });
    mkdirSync(join(ws.dir, 'quarantine/2024/05/17/x'), { recursive: true });
    for (const f of leftovers) writeFileSync(join(ws.dir, f), 'partial copy');
    const live = join(ws.dir, `archive/2024/05/17/x/.lakelet-tmp-${process.pid}-c`);
    writeFileSync(live, 'being written');
    ws.land('landing/initial.csv', initial);
    const r = await lakelet(['run', '--once', '-c', ws.configFile, '--json', '--log-format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const removed = r.stderr.trim().split('\n').map((l) => JSON.parse(l)).filter((e: { event: string }) => e.event === 'temp.removed');
    expect(removed.map((e: { folder: string; files: number }) => [e.folder, e.files])).toEqual([
      [`file://${join(ws.dir, 'archive')}`, 1],
      [`file://${join(ws.dir, 'quarantine')}`, 1],
    ]);
    for (const f of leftovers) expect(existsSync(join(ws.dir, f))).toBe(false);
    expect(existsSync(live)).toBe(true);
  });

  it.skipIf(!canMountTmpfs())('a full disk under the stage table fails the run naming the file and what to do; with space again the next run finishes the batch', async () => {
    ws = new Workspace(yaml());
    const mnt = join(ws.dir, 'tables', 'stage');
    mountTmpfs(mnt, '64k');
    try {
      // ~300 KB of rows that do not compress away.
      const rows = Array.from({ length: 3000 }, (_, i) => [`C${i}`, `A${i}`, 600 + (i % 100), i / 7, '2024-01-01 00:00:00', createHash('sha256').update(String(i)).digest('hex')]);
      ws.land('landing/big.csv', csv(HEADER, rows));
      const full = await lakelet(['run', '--once', '-c', ws.configFile, '--quiet']);
      expect(full.code).toBe(1);
      const lines = full.stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^lakelet: no space left on device \\(ENOSPC\\) on (query|write) of ${mnt}/\\S+: free space on that disk`));
      expect(ws.files('landing')).toEqual(['big.csv']);

      resizeTmpfs(mnt, '16m');
      const again = await lakelet(['run', '--once', '-c', ws.configFile, '--json', '--quiet']);
      expect(again.code, again.stderr).toBe(0);
      expect(JSON.parse(again.stdout).totals).toMatchObject({ recovered: 1, files: 1, merged: 1, rowsInserted: 3000 });
      expect((await ws.rows('tables/accounts', 'account_number')).length).toBe(3000);
    } finally {
      unmount(mnt);
    }
  });
});
