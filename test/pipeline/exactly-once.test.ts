import { afterEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalObjectStore } from '../../src/adapters/storage/local/local-object-store.ts';
import { moveOnce, sha256 } from '../../src/pipeline/file-mover.ts';
import { PipelineStateError } from '../../src/pipeline/errors.ts';
import { canMountTmpfs, mountTmpfs, resizeTmpfs, unmount } from '../support/tmpfs.ts';
import { RecordingStore } from '../support/recording-store.ts';
import { csv, Workspace } from '../support/workspace.ts';
import { expected, HEADER, incremental, initial, yaml } from './accounts-fixture.ts';
import { lakelet } from '../support/cli.ts';
import { startProcess } from '../support/process.ts';

/**
 * Archive layout, deletes, duplicate deliveries, one runner per pipeline, leftovers and full disks.
 * The crash matrix (SIGKILL at each step boundary, then run again) is crash-matrix.test.ts.
 */
let ws: Workspace | undefined;
afterEach(() => ws?.cleanup());

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

  it('moveOnce links a source still as planned (size, mtime) without reading it; a changed one is hashed and left alone', async () => {
    ws = new Workspace(yaml());
    const from = new RecordingStore(ws.dir);
    const gets = from.gets;
    const to = new LocalObjectStore(join(ws.dir, 'archive'));
    writeFileSync(join(ws.dir, 'a.csv'), 'id\n1\n');
    const head = (await from.head('a.csv'))!;
    const planned = { size: head.size, mtime: head.lastModified };
    expect(await moveOnce(from, 'a.csv', to, 'd/a.csv', sha256(Buffer.from('id\n1\n')), 'p', { planned })).toBe('moved');
    expect(gets).toEqual([]);
    expect(readFileSync(join(ws.dir, 'archive/d/a.csv'), 'utf8')).toBe('id\n1\n');

    // Overwritten since it was planned (another size): read, hashed, found changed, kept in landing.
    writeFileSync(join(ws.dir, 'b.csv'), 'id\n1\n');
    const b = (await from.head('b.csv'))!;
    writeFileSync(join(ws.dir, 'b.csv'), 'id\n1\n2\n');
    expect(await moveOnce(from, 'b.csv', to, 'd/b.csv', sha256(Buffer.from('id\n1\n')), 'p', { planned: { size: b.size, mtime: b.lastModified } })).toBe('changed');
    expect(gets).toEqual(['b.csv']);
    expect(readFileSync(join(ws.dir, 'b.csv'), 'utf8')).toBe('id\n1\n2\n');
  });
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
