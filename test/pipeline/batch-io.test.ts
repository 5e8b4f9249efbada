import { afterEach, describe, expect, it } from 'vitest';
import { appendFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PipelineRunner } from '../../src/pipeline/runner.ts';
import { planBatch } from '../../src/pipeline/batch-plan.ts';
import { completeBatch } from '../../src/pipeline/batch-steps.ts';
import { PipelineStateError } from '../../src/pipeline/errors.ts';
import type { Reporter } from '../../src/pipeline/reporter.ts';
import { silentReporter } from '../../src/pipeline/reporter.ts';
import { csv, Workspace } from '../support/workspace.ts';
import { pipelineYaml } from '../support/pipeline-yaml.ts';

/**
 * Issue 13, point 5: a batch's files are read a few ahead of the one being checked, and archived a
 * few at a time. Neither may change what a batch takes, what it reports, or how a failed batch is
 * finished by the next run.
 */
let ws: Workspace | undefined;
afterEach(() => ws?.cleanup());

const yaml = () => pipelineYaml({ batch: { maxFiles: 50 } }, { stateDir: './state' });
const names = (n: number) => Array.from({ length: n }, (_, i) => `f${String(i).padStart(2, '0')}.csv`);

function recording(): { reporter: Reporter; events: { event: string; fields: Record<string, unknown> }[] } {
  const events: { event: string; fields: Record<string, unknown> }[] = [];
  return { reporter: { ...silentReporter, event: (_level, event, fields) => void events.push({ event, fields: fields ?? {} }) }, events };
}

describe('reading a batch ahead', () => {
  it('a file gone or grown after the listing is left out of the batch, as when files were read one by one', async () => {
    ws = new Workspace(yaml());
    for (const [i, n] of names(20).entries()) ws.land(`landing/${n}`, csv('id,v', [[i, i * 10]]));
    const { reporter, events } = recording();
    const runner = await PipelineRunner.open(ws.config(), { clock: ws.clock, reporter });
    try {
      const [batch] = await runner.pendingBatches('p');
      expect(batch.map((f) => f.key)).toEqual(names(20));
      // After the listing: f03 is deleted, f12 grows (still being written).
      rmSync(join(ws.dir, 'landing', 'f03.csv'));
      appendFileSync(join(ws.dir, 'landing', 'f12.csv'), '99,990\n');
      const planned = await planBatch(runner.runtime('p'), batch);
      expect(planned!.manifest.files.map((f) => f.key)).toEqual(names(20).filter((n) => n !== 'f03.csv' && n !== 'f12.csv'));
      expect(events.filter((e) => e.event === 'file.still-changing').map((e) => e.fields.file)).toEqual(['f12.csv']);
      await completeBatch(runner.runtime('p'), planned!.manifest, planned!.prepared);
    } finally {
      await runner.close();
    }
    expect(ws.files('landing')).toEqual(['f12.csv']);
    const ids = (await ws.rows('tables/target', 'id')).map((r) => Number(r.id));
    expect(ids).toEqual([...Array(20).keys()].filter((i) => i !== 3 && i !== 12));
  });
});

describe('archiving a batch', () => {
  it('moves every file once and reports duplicates in file order', async () => {
    ws = new Workspace(yaml());
    for (const [i, n] of names(30).entries()) ws.land(`landing/${n}`, csv('id,v', [[i, i]]));
    await ws.run();
    // The same content again under its own name (duplicates), among new files.
    for (const [i, n] of names(30).entries()) if (i % 7 === 0) ws.land(`landing/${n}`, csv('id,v', [[i, i]]));
    for (let i = 30; i < 40; i++) ws.land(`landing/g${i}.csv`, csv('id,v', [[i, i]]));
    const { reporter, events } = recording();
    const runner = await PipelineRunner.open(ws.config(), { clock: ws.clock, reporter });
    try {
      const s = await runner.runAll();
      expect(s.totals).toMatchObject({ files: 15, staged: 10, duplicates: 5 });
    } finally {
      await runner.close();
    }
    expect(events.filter((e) => e.event === 'file.duplicate').map((e) => e.fields.file)).toEqual(['f00.csv', 'f07.csv', 'f14.csv', 'f21.csv', 'f28.csv']);
    expect(ws.files('landing')).toEqual([]);
    const archived = ws.files('archive').map((f) => f.split('/').pop());
    expect(archived.length).toBe(45);
    expect(new Set(archived).size).toBe(40);
  });

  it('a destination holding other content fails the batch naming it; the next run finishes it once that is cleared', async () => {
    ws = new Workspace(yaml());
    for (const [i, n] of names(24).entries()) ws.land(`landing/${n}`, csv('id,v', [[i, i]]));
    const runner = await PipelineRunner.open(ws.config(), { clock: ws.clock });
    let folder: string;
    try {
      const [batch] = await runner.pendingBatches('p');
      const planned = (await planBatch(runner.runtime('p'), batch))!;
      folder = planned.manifest.folder;
      mkdirSync(join(ws.dir, 'archive', folder), { recursive: true });
      writeFileSync(join(ws.dir, 'archive', folder, 'f05.csv'), 'someone else\n');
      const failed = await completeBatch(runner.runtime('p'), planned.manifest, planned.prepared).catch((e: unknown) => e);
      expect(failed).toBeInstanceOf(PipelineStateError);
      expect(String((failed as Error).message)).toMatch(/f05\.csv already exists with other content/);
    } finally {
      await runner.close();
    }
    expect(ws.files('landing')).toContain('f05.csv');
    rmSync(join(ws.dir, 'archive', folder, 'f05.csv'));
    const s = await ws.run();
    expect(s.totals).toMatchObject({ batches: 1, recovered: 1, files: 24 });
    expect(ws.files('landing')).toEqual([]);
    expect(ws.files('archive')).toEqual(names(24).map((n) => `${folder}/${n}`));
    const ids = (await ws.rows('tables/target', 'id')).map((r) => Number(r.id));
    expect(ids).toEqual([...Array(24).keys()]);
    const log = await ws.log('p');
    expect(log.map((r) => [r.file_name, r.status])).toEqual(names(24).map((n) => [n, 'merged']));
  });
});
