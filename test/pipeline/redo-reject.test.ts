import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PipelineRunner } from '../../src/pipeline/runner.ts';
import { planBatch } from '../../src/pipeline/batch-plan.ts';
import { csv, Workspace } from '../support/workspace.ts';
import { pipelineYaml } from '../support/pipeline-yaml.ts';

/**
 * A batch redone after a crash, where a file that passed when planned is refused now with the very
 * same bytes (here: the config changed to schemaDrift: fail in between). The file is quarantined
 * and the batch goes on; what the other files owe is still done: a file's left-out bad records are
 * written to quarantine, and a copy of the refused file in the batch is quarantined with it rather
 * than archived as its "duplicate".
 */
let ws: Workspace | undefined;
afterEach(() => ws?.cleanup());

describe('a redo that refuses a planned file', () => {
  it('keeps the other files\' bad records and quarantines the refused file\'s copies', async () => {
    ws = new Workspace(pipelineYaml({ badRecordsLimit: 1 }, { stateDir: './state' }));
    ws.land('landing/0.csv', csv('id,n', [[1, 1]]));
    await ws.run();
    ws.land('landing/a.csv', 'id,n\n2,5\n3,x\n4,7\n');
    ws.land('landing/b.csv', csv('id,n,extra', [[5, 8, 'e']]));
    ws.land('landing/c.csv', csv('id,n,extra', [[5, 8, 'e']]));
    // Planned (manifest written), then stopped before the stage step, as by a crash.
    const runner = await PipelineRunner.open(ws.config(), { clock: ws.clock });
    try {
      const [batch] = await runner.pendingBatches('p');
      const planned = await planBatch(runner.runtime('p'), batch);
      expect(planned!.manifest.files.map((f) => f.outcome).sort()).toEqual(['duplicate', 'stage', 'stage']);
    } finally {
      await runner.close();
    }
    ws.writeConfig(pipelineYaml({ badRecordsLimit: 1, schemaDrift: 'fail' }, { stateDir: './state' }));
    await ws.run();

    expect((await ws.rows('tables/target', 'id')).map((r) => Number(r.id))).toEqual([1, 2, 4]);
    const quarantined = ws.files('quarantine').map((f) => f.split('/').pop()).sort();
    expect(quarantined).toEqual(['a.csv.bad-records.ndjson', 'b.csv', 'b.csv.error.json', 'c.csv', 'c.csv.error.json']);
    const badRecords = ws.files('quarantine').find((f) => f.endsWith('a.csv.bad-records.ndjson'))!;
    const records = readFileSync(join(ws.dir, 'quarantine', badRecords), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(records).toEqual([expect.objectContaining({ file: 'a.csv', line: 3, kind: 'cast' })]);
    const log = Object.fromEntries((await ws.log()).map((r) => [r.file_name, r.status]));
    expect(log).toMatchObject({ 'a.csv': 'merged', 'b.csv': 'quarantined', 'c.csv': 'quarantined' });
    expect(ws.files('archive').map((f) => f.split('/').pop()).sort()).toEqual(['0.csv', 'a.csv']);
  });
});
