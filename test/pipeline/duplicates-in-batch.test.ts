import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PipelineRunner } from '../../src/pipeline/runner.ts';
import { planBatch } from '../../src/pipeline/batch-plan.ts';
import { csv, Workspace } from '../support/workspace.ts';
import { pipelineYaml } from '../support/pipeline-yaml.ts';

/**
 * Two copies of the same bytes in one batch: the second is a duplicate of the first, as it would be
 * in a later batch. Both used to be staged, which a stage-only pipeline kept twice and the
 * ingestion log reported as two merged files.
 */
let ws: Workspace | undefined;
afterEach(() => ws?.cleanup());

const rows = csv('id,v', [[1, 'a'], [2, 'b']]);

describe('the same content twice in one batch', () => {
  it('stages it once; the copy is logged as a duplicate of the first and archived', async () => {
    ws = new Workspace(pipelineYaml({ target: undefined }, { stateDir: './state' }));
    ws.land('landing/orig.csv', rows);
    ws.land('landing/copy.csv', rows);
    ws.land('landing/other.csv', csv('id,v', [[3, 'c']]));
    const s = await ws.run();
    expect(s.totals).toMatchObject({ files: 3, staged: 2, duplicates: 1 });
    expect((await ws.rows('tables/stage', 'id')).map((r) => `${r.id}:${r.v}`)).toEqual(['1:a', '2:b', '3:c']);
    // Which copy counts as first follows arrival order (mtime, then name): either may be the duplicate.
    const log = await ws.log();
    const status = Object.fromEntries(log.map((r) => [r.file_name, r.status]));
    expect([status['orig.csv'], status['copy.csv']].sort()).toEqual(['duplicate', 'staged']);
    expect(status['other.csv']).toBe('staged');
    const dup = log.find((r) => r.status === 'duplicate')!;
    const firstName = dup.file_name === 'orig.csv' ? 'copy.csv' : 'orig.csv';
    expect(String(dup.error)).toBe(`same content (sha256) as ${firstName} in batch 1`);
    expect(ws.files('landing')).toEqual([]);
    expect(ws.files('archive').map((f) => f.split('/').pop()).sort()).toEqual(['copy.csv', 'orig.csv', 'other.csv']);
  });

  it('a copy of a rejected file is quarantined with it, each with its own .error.json', async () => {
    ws = new Workspace(pipelineYaml({}, { stateDir: './state' }));
    const bad = 'id,v\n"1,a\n';
    ws.land('landing/bad-1.csv', bad);
    ws.land('landing/bad-2.csv', bad);
    ws.land('landing/good.csv', rows);
    const s = await ws.run();
    expect(s.totals).toMatchObject({ files: 3, staged: 1, quarantined: 2, duplicates: 0 });
    expect((await ws.rows('tables/target', 'id')).map((r) => Number(r.id))).toEqual([1, 2]);
    const quarantined = ws.files('quarantine').map((f) => f.split('/').pop()).sort();
    expect(quarantined).toEqual(['bad-1.csv', 'bad-1.csv.error.json', 'bad-2.csv', 'bad-2.csv.error.json']);
    const docs = ws.files('quarantine').filter((f) => f.endsWith('.error.json')).map((f) => JSON.parse(readFileSync(join(ws!.dir, 'quarantine', f), 'utf8')));
    expect(docs.map((d) => d.file).sort()).toEqual(['bad-1.csv', 'bad-2.csv']);
    const [first, second] = [...docs].sort((a, b) => (a.file < b.file ? -1 : 1));
    expect(second.kind).toBe(first.kind);
    expect(second.error).toContain(`the same content as ${first.file}, rejected: ${first.error}`);
  });

  it('when the first copy is overwritten before its batch is staged (a redo), the other copy stays in landing and is staged next', async () => {
    ws = new Workspace(pipelineYaml({ target: undefined }, { stateDir: './state' }));
    ws.land('landing/orig.csv', rows);
    ws.land('landing/copy.csv', rows);
    // Planned (its manifest written), then stopped before the stage step, as by a crash.
    const runner = await PipelineRunner.open(ws.config(), { clock: ws.clock });
    let first: string;
    try {
      const [batch] = await runner.pendingBatches('p');
      const planned = await planBatch(runner.runtime('p'), batch);
      const outcomes = Object.fromEntries(planned!.manifest.files.map((f) => [f.key, f.outcome]));
      expect(Object.values(outcomes).sort()).toEqual(['duplicate', 'stage']);
      first = Object.keys(outcomes).find((k) => outcomes[k] === 'stage')!;
    } finally {
      await runner.close();
    }
    ws.land(`landing/${first}`, csv('id,v', [[9, 'new']]));
    await ws.run();
    // The original rows come from the copy, the new ones from the overwritten file: each once.
    expect((await ws.rows('tables/stage', 'id')).map((r) => `${r.id}:${r.v}`)).toEqual(['1:a', '2:b', '9:new']);
    expect(ws.files('landing')).toEqual([]);
    const log = await ws.log();
    expect(log.filter((r) => r.status === 'replaced').map((r) => r.file_name).sort()).toEqual(['copy.csv', 'orig.csv']);
    expect(log.filter((r) => r.status === 'staged').map((r) => r.file_name).sort()).toEqual(['copy.csv', 'orig.csv']);
  });
});
