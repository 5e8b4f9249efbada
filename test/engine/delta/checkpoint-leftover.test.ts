import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeltaTable } from '../../../src/engine/table.ts';
import { canonicalRows } from '../../support/golden.ts';
import { deltaRsAvailable, requirePeer, runDeltaRs } from '../../support/peers.ts';
import { useEngine } from '../../support/engine-fixture.ts';

/**
 * On a local disk DuckDB writes a checkpoint straight into `_delta_log/` under a temporary name,
 * renamed to the checkpoint's name once whole. A writer killed half-way leaves that temp file: no
 * reader (lakelet, delta-rs) takes it for a log file, and the pipeline's temp cleanup removes it.
 */
const fx = useEngine('lakelet-ckpt-leftover-');
const peer = requirePeer('delta-rs', deltaRsAvailable) === 'run';
const pad = (v: number) => String(v).padStart(20, '0');

describe('checkpoint written in place', () => {
  it('leaves no temp file; a half-written one left by a crash is read by no one and cleaned up', async () => {
    const dir = join(fx.dir, 't');
    const t = await DeltaTable.forPath(dir, { compute: fx.compute });
    for (let v = 0; v <= 10; v++) await t.write({ sql: `SELECT ${v} AS id` }).execute();
    await t.delete('id = 4').execute(); // v11: a tombstone for checkpoint 20
    for (let v = 12; v <= 20; v++) await t.write({ sql: `SELECT ${v} AS id` }).execute();
    const log = join(dir, '_delta_log');
    expect(readdirSync(log).filter((n) => n.startsWith('.'))).toEqual([]);
    expect(readdirSync(log).filter((n) => n.endsWith('.checkpoint.parquet')).sort()).toEqual([`${pad(10)}.checkpoint.parquet`, `${pad(20)}.checkpoint.parquet`]);
    t.close();

    // A writer killed while DuckDB wrote checkpoint 30: half its bytes under the temp name.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const whole = readFileSync(join(log, `${pad(20)}.checkpoint.parquet`));
    const leftover = join(log, `.lakelet-tmp-${dead}-${randomUUID()}`);
    writeFileSync(leftover, whole.subarray(0, whole.length >> 1));

    const reopened = await DeltaTable.forPath(dir, { compute: fx.compute });
    expect((await reopened.ctx.log.listFrom(0)).some((f) => f.key.includes('lakelet-tmp'))).toBe(false);
    const rows = await reopened.read({ orderBy: 'id' });
    expect(rows.map((r) => Number(r.id))).toEqual([0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
    if (peer) {
      // Both versions in one peer process (its start-up is most of a read).
      const read = await runDeltaRs(['read', dir, '--versions', 'latest,15']);
      for (const [i, version] of [undefined, 15].entries()) {
        const theirs = read[i];
        const ours = await reopened.read(version === undefined ? {} : { version });
        expect(canonicalRows(theirs.rows), `delta-rs at ${version ?? 'latest'}`).toEqual(canonicalRows(ours));
      }
    }
    expect(await reopened.ctx.store.removeStaleTemp?.()).toEqual([leftover]);
    reopened.close();
  });
});
