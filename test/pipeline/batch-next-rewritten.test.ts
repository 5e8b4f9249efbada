import { utimesSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { PipelineRunner } from '../../src/pipeline/runner.ts';
import { noProgress, type Reporter } from '../../src/pipeline/reporter.ts';
import { csv, Workspace } from '../support/workspace.ts';
import { pipelineYaml } from '../support/pipeline-yaml.ts';

/**
 * A batch's files are decided when that batch is planned, after the batch before it has run
 * (issue 13, point 5: whatever is read, hashed or checked earlier to overlap the batch before it
 * must decide nothing early). A file rewritten while the batch before it runs is taken with the
 * bytes it then holds, and a bad file is quarantined in its own batch, in file order. Checked
 * against an overlapped read-ahead tried for issue 13 (the next batch read during this one): without looking at the
 * listing again at plan time, the rewritten file was quarantined (its manifest counted the old
 * records, DuckDB read the new ones).
 */
let ws: Workspace | undefined;
afterEach(() => ws?.cleanup());

/** Runs every landed file; `onEvent` sees each event as it is reported (the run waits for nothing). */
async function run(w: Workspace, onEvent: (event: string, fields?: Record<string, unknown>) => void = () => {}) {
  const reporter: Reporter = {
    event: (level, event, fields) => {
      w.events.push({ level, event, fields });
      onEvent(event, fields);
    },
    progress: () => noProgress,
  };
  const runner = await PipelineRunner.open(w.config(), { clock: w.clock, reporter });
  try {
    return await runner.runAll();
  } finally {
    await runner.close();
  }
}

describe('the next batch, while the one before it runs', () => {
  it('takes a file rewritten while the batch before it ran with its new bytes', async () => {
    ws = new Workspace(pipelineYaml({ batch: { maxFiles: 2 } }));
    ws.land('landing/a.csv', csv('id,v', [[1, 'a']]));
    ws.land('landing/b.csv', csv('id,v', [[2, 'b']]));
    const c = ws.land('landing/c.csv', csv('id,v', [[3, 'old']]));
    ws.land('landing/d.csv', csv('id,v', [[4, 'd']]));
    let rewritten = false;
    const first = await run(ws, (event, fields) => {
      // Batch 1 is staged, batch 2 (c, d) not planned yet: c gets new content (and a later mtime).
      if (event === 'batch.staged' && fields?.batch === 1 && !rewritten) {
        rewritten = true;
        writeFileSync(c, csv('id,v', [[3, 'new'], [5, 'new too']]));
        const t = new Date(Date.UTC(2024, 0, 2));
        utimesSync(c, t, t);
      }
    });
    expect(rewritten).toBe(true);
    // A file seen changing may be left for the next run, but is never staged with bytes it no longer holds.
    await run(ws);
    expect(first.totals.quarantined).toBe(0);
    expect((await ws.rows('tables/target', 'id')).map((r) => [r.id, r.v])).toEqual([
      ['1', 'a'],
      ['2', 'b'],
      ['3', 'new'],
      ['4', 'd'],
      ['5', 'new too'],
    ]);
    expect(ws.files('landing')).toEqual([]);
    const log = await ws.log();
    const cRows = log.filter((r) => r.file_name === 'c.csv' && r.status === 'merged');
    expect(cRows).toHaveLength(1);
    expect(Number(cRows[0].records)).toBe(2);
    expect(ws.events.some((e) => e.event === 'file.not-archived')).toBe(false);
  });

  it('quarantines a bad file of a later batch in its own batch, after the batch before it, in file order', async () => {
    ws = new Workspace(pipelineYaml({ batch: { maxFiles: 2 } }));
    ws.land('landing/a.csv', csv('id,v', [[1, 'a']]));
    ws.land('landing/b.csv', csv('id,v', [[2, 'b']]));
    ws.land('landing/c.csv', 'id,v\n3,"unclosed\n');
    ws.land('landing/d.csv', csv('id,v', [[4, 'd']]));
    ws.land('landing/e.csv', new Uint8Array([0x69, 0x64, 0x2c, 0x76, 0x0a, 0x35, 0x2c, 0xff, 0x0a]));
    const s = await run(ws);
    expect(s.totals).toMatchObject({ batches: 3, files: 5, staged: 3, quarantined: 2 });
    expect(ws.files('landing')).toEqual([]);
    const quarantined = ws.events.filter((e) => e.event === 'file.quarantined').map((e) => [e.fields?.batch, e.fields?.file]);
    expect(quarantined).toEqual([
      [2, 'c.csv'],
      [3, 'e.csv'],
    ]);
    const planned = ws.events.filter((e) => e.event === 'batch.planned' || e.event === 'batch.done').map((e) => `${e.event}:${e.fields?.batch ?? e.fields?.seq}`);
    expect(planned).toEqual(['batch.planned:1', 'batch.done:1', 'batch.planned:2', 'batch.done:2', 'batch.planned:3', 'batch.done:3']);
    expect(ws.quarantineError('c.csv').kind).toBe('csv');
    expect((await ws.rows('tables/target', 'id')).map((r) => r.id)).toEqual(['1', '2', '4']);
  });
});
