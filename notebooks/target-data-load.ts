// %% [markdown]
// # Target load — seed 002's `target_data_load.ipynb`, on lakelet
//
// The second notebook of seed 002: read the stage table `stage_zn_new` and upsert it into the target
// `target_zn_new` on the unique `tracking_num`, so the target holds the latest state of each order.
// It runs after `stage-load-data.ts`, and finishes every batch that notebook staged.
//
// Run: `npx tsx notebooks/target-data-load.ts [--config lakelet.yml] [--pipeline orders]`
// (or `npm run notebook:target`).

// %%
import { loadConfig } from '../src/pipeline/config.ts';
import { PipelineRunner } from '../src/pipeline/runner.ts';
import { archiveStep, beginBatch, logStep, quarantineStep, stageStep, targetStep } from '../src/pipeline/batch-steps.ts';
import { streamReporter } from '../src/cli/output/stream-reporter.ts';
import { dropRawInputs } from '../src/pipeline/file-reader.ts';
import { notebookArgs } from './notebook-args.ts';

const args = notebookArgs();
const config = loadConfig(args.config);
const runner = await PipelineRunner.open(config, { only: [args.pipeline], reporter: streamReporter({ format: 'text', level: 'warn' }) });
const rt = runner.runtime(args.pipeline);

// %% [markdown]
// ## 1. Which batches are staged but not merged yet?
// Each batch the stage notebook planned has a manifest; the ones without a "done" marker are
// waiting for this notebook.

// %%
const waiting = rt.state.unfinished();
console.log(waiting.length ? `batches to merge: ${waiting.map((m) => m.seq).join(', ')}` : 'no batch waiting: run stage-load-data.ts first (or land files)');

// %% [markdown]
// ## 2. Read the stage rows of the batch
// Only the rows of this batch (`_batch = N`), not the whole stage table: the stage keeps every
// load, the target gets each batch once.

// %%
for (const m of waiting) {
  const rows = await rt.tables.rows('stage', { where: `_batch = ${m.seq}`, orderBy: '_source_file, _row_number' }).catch(() => []);
  console.log(`batch ${m.seq}: ${rows.length} stage rows from ${new Set(rows.map((r) => r._source_file)).size} file(s)`);
}

// %% [markdown]
// ## 3. MERGE into the target on the key
// `MERGE INTO target_zn_new t USING stage s ON t.tracking_num = s.tracking_num WHEN MATCHED THEN
// UPDATE SET * WHEN NOT MATCHED THEN INSERT *`, plus what the original left out: one source row per
// key (the latest by `orderBy`), deletes by a marker column when configured, and an older row never
// replacing a newer one. The commit carries `lakelet:<pipeline>:target` at the batch number. The
// earlier steps are called again first: each is a no-op when already done, and finishes the work
// when the stage notebook was interrupted.

// %%
const progresses = [];
for (const m of waiting) {
  const progress = beginBatch(rt, m, false);
  try {
    await quarantineStep(rt, progress);
    await stageStep(rt, progress);
  } finally {
    // A batch the stage notebook did not finish is read again into temp tables: drop them once staged.
    await dropRawInputs(rt.compute);
  }
  await archiveStep(rt, progress);
  await targetStep(rt, progress);
  console.log(`batch ${m.seq}: target version ${progress.targetVersion}: ${progress.metrics.inserted} inserted, ${progress.metrics.updated} updated, ${progress.metrics.deleted} deleted`);
  progresses.push(progress);
}

// %% [markdown]
// ## 4. Record the batches in the ingestion log
// One row per file (size, sha256, records, status, versions, timings); then the batch is done.

// %%
const results = [];
for (const progress of progresses) results.push(await logStep(rt, progress));
console.table(await rt.log.read({ pipeline: rt.pipeline.name, limit: 10 }).then((rows) => rows.map((r) => ({ batch: r.batch, file: r.file_name, status: r.status, records: r.records, target_version: r.target_version }))));

// %% [markdown]
// ## 5. The target table
// The latest state of every order.

// %%
if (rt.tables.hasTarget) console.table(await rt.tables.rows('target', { orderBy: rt.pipeline.key.join(', ') }));
console.log(`done: ${results.length} batch(es) merged`);
await runner.close();
