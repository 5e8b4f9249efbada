// Opening the latest snapshot takes short cuts that must not change what it holds: the checkpoint
// `_last_checkpoint` names is read while the log is listed (only a guess: when the listing shows a
// newer checkpoint, or the named one is damaged, the snapshot is exactly what a plain replay
// gives), and a checkpoint's tombstones (removes) are not decoded.
import { describe, expect, it } from 'vitest';
import { readFileSync, truncateSync, writeFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LocalObjectStore } from '../../../src/adapters/storage/local/local-object-store.ts';
import { openStore } from '../../../src/adapters/storage/open-store.ts';
import { readCheckpointFiles } from '../../../src/engine/delta/checkpoint-reader.ts';
import { listLog, loadSnapshot } from '../../../src/engine/delta/snapshot.ts';
import { DeltaTable } from '../../../src/engine/table.ts';
import { useEngine } from '../../support/engine-fixture.ts';
import { RecordingStore } from '../../support/recording-store.ts';

const fx = useEngine();
const pad = (v: number) => String(v).padStart(20, '0');

/** The table's files at its latest version, by a fresh handle. */
async function latestPaths(dir: string, store = new LocalObjectStore(dir)): Promise<string[]> {
  const t = await DeltaTable.forPath(dir, { compute: fx.compute, store });
  try {
    return (await t.snapshot()).files.map((f) => f.path).sort();
  } finally {
    t.close();
  }
}

/** Versions 0..6, one file each, checkpoints at 2 and 4 (interval 2; 6 gets one too). */
async function table(name: string): Promise<string> {
  const dir = join(fx.dir, name);
  const t = await DeltaTable.forPath(dir, { compute: fx.compute });
  await t.write({ sql: 'SELECT 0 AS k' }).properties({ 'delta.checkpointInterval': '2' }).execute();
  for (let i = 1; i < 6; i++) await t.write({ sql: `SELECT ${i} AS k` }).execute();
  t.close();
  return dir;
}

describe('opening a snapshot: short cuts that leave it the same', () => {
  it('the checkpoint _last_checkpoint names, read while the log is listed, is not used when the hint is stale and the listing holds a newer checkpoint', async () => {
    const dir = await table('stale');
    const log = join(dir, '_delta_log');
    const all = await latestPaths(dir);
    expect(all).toHaveLength(6);
    // _last_checkpoint back to version 2 (as a writer that crashed before updating it leaves it):
    // the listing from 2 finds the checkpoint of 4, which is where replay must start; taking the
    // early read of 2 for it would lose the files of versions 3 and 4.
    writeFileSync(join(log, '_last_checkpoint'), JSON.stringify({ version: 2, size: 4 }));
    const store = new RecordingStore(dir);
    const reads = store.gets;
    expect(await latestPaths(dir, store)).toEqual(all);
    expect(reads).toContain(`_delta_log/${pad(4)}.checkpoint.parquet`);
    // Back to the true hint: one read of that checkpoint, no other.
    writeFileSync(join(log, '_last_checkpoint'), JSON.stringify({ version: 4, size: 7 }));
    reads.length = 0;
    expect(await latestPaths(dir, store)).toEqual(all);
    expect(reads.filter((k) => k.includes('.checkpoint.'))).toEqual([`_delta_log/${pad(4)}.checkpoint.parquet`]);
  });

  it('a damaged checkpoint _last_checkpoint names gives way to the older one, as without the early read', async () => {
    const dir = await table('damaged');
    const all = await latestPaths(dir);
    const file = join(dir, '_delta_log', `${pad(4)}.checkpoint.parquet`);
    const bytes = readFileSync(file);
    truncateSync(file, Math.floor(statSync(file).size / 2));
    expect(await latestPaths(dir)).toEqual(all);
    writeFileSync(file, bytes);
    expect(await latestPaths(dir)).toEqual(all);
  });

  it("a checkpoint's removes are left out of the snapshot's read only, and the snapshot is the same", async () => {
    // A Spark table whose checkpoint of version 10 keeps 5 tombstones (lakelet writes none).
    const dir = resolve(process.cwd(), '../shared/conformance/golden/basic-with-inserts-deletes-checkpoint/delta');
    const key = `_delta_log/${pad(10)}.checkpoint.parquet`;
    const ctx = { tablePath: dir, version: 10 };
    const all = await readCheckpointFiles(fx.compute, openStore(dir), [key], ctx);
    const live = await readCheckpointFiles(fx.compute, openStore(dir), [key], ctx, { tombstones: false });
    expect(all.filter((a) => a.remove)).toHaveLength(5);
    expect(live.filter((a) => a.remove)).toHaveLength(0);
    expect(live).toEqual(all.filter((a) => !a.remove));
    // The snapshot from that checkpoint holds what replaying every commit gives.
    const t = await DeltaTable.forPath(dir, { compute: fx.compute });
    const commitsOnly = (await listLog(t.ctx)).filter((f) => f.kind === 'commit');
    const replayed = await loadSnapshot(t.ctx, {}, commitsOnly);
    const opened = await t.snapshot();
    expect(opened.version).toBe(replayed.version);
    expect(opened.files.map((f) => f.path).sort()).toEqual(replayed.files.map((f) => f.path).sort());
    t.close();
  });
});
