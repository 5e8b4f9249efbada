import { afterEach, describe, expect, it } from 'vitest';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { Workspace } from '../support/workspace.ts';
import { REPO, runTsx } from '../support/process.ts';

/** The seed-002 notebooks, run as a user would (npx tsx …) on a temp copy of the sample data. */
let ws: Workspace | undefined;
afterEach(() => ws?.cleanup());

/** A notebook as `npx tsx <file>` runs it; `out` is what it printed, stdout then stderr. */
async function tsx(file: string, args: string[]): Promise<{ code: number | null; out: string }> {
  const run = await runTsx(join(REPO, file), args);
  return { code: run.code, out: run.stdout + run.stderr };
}

describe('notebooks', () => {
  it('stage-load-data then target-data-load reproduce seed 002 on the sample orders', async () => {
    ws = new Workspace('# replaced below\n');
    copyFileSync(join(REPO, 'lakelet.yml'), ws.configFile);
    const stage = await tsx('notebooks/stage-load-data.ts', ['--config', ws.configFile]);
    expect(stage.code, stage.out).toBe(0);
    expect(stage.out).toContain('landed the sample files');
    expect(stage.out).toContain('→ stage (5 records)');
    expect(ws.files('work-data/landing/orders')).toEqual([]);
    expect(ws.files('work-data/archive/orders')).toHaveLength(2);
    expect(await ws.rows('work-data/tables/target_zn_new', 'tracking_num')).toEqual([]);

    const target = await tsx('notebooks/target-data-load.ts', ['--config', ws.configFile]);
    expect(target.code, target.out).toBe(0);
    expect(target.out).toContain('7 inserted');
    const rows = await ws.rows('work-data/tables/target_zn_new', 'tracking_num');
    expect(rows.map((r) => [r.tracking_num, r.status])).toEqual([
      ['TRK1001', 'IN_TRANSIT'],
      ['TRK1002', 'DELIVERED'],
      ['TRK1003', 'IN_TRANSIT'],
      ['TRK1004', 'LABEL_CREATED'],
      ['TRK1005', 'OUT_FOR_DELIVERY'],
      ['TRK1006', 'LABEL_CREATED'],
      ['TRK1007', 'IN_TRANSIT'],
    ]);

    // Running the target notebook again changes nothing.
    const again = await tsx('notebooks/target-data-load.ts', ['--config', ws.configFile]);
    expect(again.code, again.out).toBe(0);
    expect(again.out).toContain('no batch waiting');
  });
});

describe('notebook runs interleaved', () => {
  it('two stage runs before one target run: both batches merge, in order, each once', async () => {
    ws = new Workspace('# replaced below\n');
    copyFileSync(join(REPO, 'lakelet.yml'), ws.configFile);
    const first = await tsx('notebooks/stage-load-data.ts', ['--config', ws.configFile]);
    expect(first.code, first.out).toBe(0);
    ws.land('work-data/landing/orders/late.csv', 'tracking_num,order_id,customer_id,carrier,status,location,updated_at\nTRK1003,ORD-503,CUST-03,USPS,DELIVERED,Boulder CO,2024-05-03 10:00:00\n');
    const second = await tsx('notebooks/stage-load-data.ts', ['--config', ws.configFile]);
    expect(second.code, second.out).toBe(0);
    expect(second.out).toContain('batch 1 (from an earlier run) is staged');
    const target = await tsx('notebooks/target-data-load.ts', ['--config', ws.configFile]);
    expect(target.code, target.out).toBe(0);
    expect(target.out).toContain('done: 2 batch(es) merged');
    const rows = await ws.rows('work-data/tables/target_zn_new', 'tracking_num');
    expect(rows.length).toBe(7);
    expect(rows.find((r) => r.tracking_num === 'TRK1003')!.status).toBe('DELIVERED');
  });
});
