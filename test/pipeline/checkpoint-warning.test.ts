import { afterEach, describe, expect, it } from 'vitest';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { PipelineRunner } from '../../src/pipeline/runner.ts';
import { silentReporter, type Reporter } from '../../src/pipeline/reporter.ts';
import { csv, Workspace } from '../support/workspace.ts';
import { pipelineYaml } from '../support/pipeline-yaml.ts';

/**
 * A target commit that landed but whose checkpoint could not be written (engine: transaction.ts)
 * does not fail the batch: the pipeline reports it as a warning event and goes on, and the next run
 * has nothing left to apply.
 */
let ws: Workspace | undefined;
afterEach(() => ws?.cleanup());

describe('a checkpoint not written after a batch commit', () => {
  it('is a warn event; the batch is done, its rows merged once', async () => {
    ws = new Workspace(pipelineYaml({ target: { path: './tables/target', properties: { 'delta.checkpointInterval': '1' } } }, { stateDir: './state' }));
    ws.land('landing/a.csv', csv('id,v', [[1, 10], [2, 20]]));
    // The target's first MERGE is its version 1, where a checkpoint is due: a directory squats on its name.
    const squat = join(ws.dir, 'tables', 'target', '_delta_log', `${'1'.padStart(20, '0')}.checkpoint.parquet`);
    mkdirSync(join(squat, 'in-the-way'), { recursive: true });
    const events: { level: string; event: string; fields: Record<string, unknown> }[] = [];
    const reporter: Reporter = { ...silentReporter, event: (level, event, fields) => void events.push({ level, event, fields: fields ?? {} }) };
    const runner = await PipelineRunner.open(ws.config(), { clock: ws.clock, reporter });
    try {
      const s = await runner.runAll();
      expect(s.totals).toMatchObject({ files: 1, staged: 1, rowsInserted: 2 });
    } finally {
      await runner.close();
    }
    const warned = events.filter((e) => e.event === 'table.checkpoint-not-written');
    expect(warned).toHaveLength(1);
    expect(warned[0].level).toBe('warn');
    expect(String(warned[0].fields.message)).toMatch(/target: version 1 is committed, but its checkpoint could not be written/);
    expect(events.some((e) => e.event === 'batch.done')).toBe(true);
    rmSync(squat, { recursive: true });
    expect(ws.files('landing')).toEqual([]);
    expect((await ws.rows('tables/target', 'id')).map((r) => Number(r.v))).toEqual([10, 20]);
    // Nothing left to do: a second run applies nothing.
    expect((await ws.run()).totals).toMatchObject({ files: 0, rowsInserted: 0, rowsUpdated: 0 });
  });
});
