import { describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DeltaTable } from '../../../src/engine/table.ts';
import { useEngine } from '../../support/engine-fixture.ts';

/**
 * A checkpoint is written after its commit is durable. When writing it fails (here a directory
 * squats on the checkpoint's name, so the rename into place fails as on a full or read-only disk),
 * the operation has still happened: it must succeed, with a warning, so nobody runs it again and
 * applies it twice.
 */
const fx = useEngine();
const checkpointFile = (dir: string, version: number) => join(dir, '_delta_log', `${String(version).padStart(20, '0')}.checkpoint.parquet`);

describe('a checkpoint that cannot be written', () => {
  it('does not fail the committed operation: it warns, the rows are there once, and the next checkpoint is written', async () => {
    const dir = join(fx.dir, 'squatted');
    const warnings: string[] = [];
    const table = await DeltaTable.forPath(dir, { compute: fx.compute, onWarning: (m) => warnings.push(m) });
    const row = (id: number) => ({ sql: `SELECT ${id}::INTEGER AS id` });
    await table.write(row(0)).properties({ 'delta.checkpointInterval': '2' }).execute();
    await table.write(row(1)).execute();
    mkdirSync(join(checkpointFile(dir, 2), 'in-the-way'), { recursive: true });

    const due = await table.write(row(2)).execute();
    expect(due.version).toBe(2);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('version 2 is committed, but its checkpoint could not be written');
    expect(warnings[0]).toContain(dir);
    expect(warnings[0]).toMatch(/must not be run again/);
    expect(warnings[0]).toContain('next checkpoint (version 4)');

    rmSync(checkpointFile(dir, 2), { recursive: true });
    // Version 2 reads from its JSON commits, each row once, in this handle and a fresh one.
    const ids = async (t: DeltaTable) => (await t.read()).map((r) => Number(r.id)).sort();
    expect(await ids(table)).toEqual([0, 1, 2]);
    const fresh = await DeltaTable.forPath(dir, { compute: fx.compute });
    expect(await ids(fresh)).toEqual([0, 1, 2]);

    await table.write(row(3)).execute();
    await table.write(row(4)).execute();
    expect(existsSync(checkpointFile(dir, 4))).toBe(true);
    expect(warnings).toHaveLength(1);
    const after = await DeltaTable.forPath(dir, { compute: fx.compute });
    expect(await ids(after)).toEqual([0, 1, 2, 3, 4]);
    table.close();
    fresh.close();
    after.close();
  });

  it('without a handler, becomes a Node process warning (LakeletWarning) rather than an error', async () => {
    const dir = join(fx.dir, 'unhandled');
    const seen: { name: string; code?: string; message: string }[] = [];
    const listener = (w: Error & { code?: string }) => seen.push({ name: w.name, code: w.code, message: w.message });
    process.on('warning', listener);
    try {
      const table = await DeltaTable.forPath(dir, { compute: fx.compute });
      await table.write({ sql: 'SELECT 1 AS id' }).properties({ 'delta.checkpointInterval': '1' }).execute();
      mkdirSync(join(checkpointFile(dir, 1), 'in-the-way'), { recursive: true });
      expect((await table.write({ sql: 'SELECT 2 AS id' }).execute()).version).toBe(1);
      // Warnings are emitted on the next tick.
      await new Promise((r) => setImmediate(r));
      const ours = seen.filter((w) => w.name === 'LakeletWarning');
      expect(ours).toHaveLength(1);
      expect(ours[0].code).toBe('LAKELET_CHECKPOINT_NOT_WRITTEN');
      expect(ours[0].message).toContain('version 1 is committed');
      table.close();
    } finally {
      process.off('warning', listener);
    }
  });
});
