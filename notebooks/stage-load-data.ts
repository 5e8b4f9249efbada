// %% [markdown]
// # Stage load — seed 002's `stage-load-data.ipynb`, on lakelet
//
// The Databricks workflow of seed 002 runs two notebooks when files arrive in
// `tracking_orders/staging_zn`: this one reads the CSV files, writes them to the stage Delta table
// `stage_zn_new`, and moves the processed files to the archive folder; `target-data-load.ts` then
// upserts the stage rows into `target_zn_new` on `tracking_num`.
//
// Here the same steps run on the local disk, through lakelet's pipeline steps, one cell at a time.
// Every step is idempotent and exactly once: if this notebook dies half-way, `lakelet run --once`
// (or running the notebooks again) finishes the batch without loading anything twice.
//
// Run: `npx tsx notebooks/stage-load-data.ts [--config lakelet.yml] [--pipeline orders]`
// (or `npm run notebook:stage`).

// %%
import { loadConfig } from '../src/pipeline/config.ts';
import { PipelineRunner } from '../src/pipeline/runner.ts';
import { planBatch } from '../src/pipeline/batch-plan.ts';
import { beginBatch, quarantineStep, stageStep, archiveStep } from '../src/pipeline/batch-steps.ts';
import { streamReporter } from '../src/cli/output/stream-reporter.ts';
import { dropRawInputs } from '../src/pipeline/file-reader.ts';
import { landSamplesIfEmpty, notebookArgs } from './notebook-args.ts';

const args = notebookArgs();

// %% [markdown]
// ## 1. Configuration
// The pipeline definition names the landing ("staging") folder, the stage and target tables, the
// key and the archive folder — what the Databricks notebook had hard-coded in its first cell.

// %%
const config = loadConfig(args.config);
const runner = await PipelineRunner.open(config, { only: [args.pipeline], reporter: streamReporter({ format: 'text', level: 'warn' }) });
const rt = runner.runtime(args.pipeline);
console.log(`pipeline ${rt.pipeline.name}: landing ${rt.pipeline.landing} → stage ${rt.pipeline.stage} → target ${rt.pipeline.target ?? '(none)'}`);

// %% [markdown]
// ## 2. The files in the staging folder
// In seed 002 a file arriving in the bucket triggers the workflow. Here we look at what has landed
// (oldest first: modification time, then name). With an empty landing folder, the sample files of
// `data/samples/orders` are landed first, so the notebook always has something to show.

// %%
const landed = landSamplesIfEmpty('orders', rt.pipeline.landing);
if (landed.length) console.log(`landed the sample files: ${landed.join(', ')}`);
const pending = (await runner.pendingBatches(args.pipeline)).flat();
console.log(`${pending.length} file(s) waiting:`);
for (const f of pending) console.log(`  ${f.key}  ${f.size} bytes  ${new Date(f.lastModified).toISOString()}`);

// %% [markdown]
// ## 3. Read the CSV files — and check them before anything is written
// `spark.read.csv(...)` would load whatever it can. lakelet validates every file on its own first
// (encoding, CSV structure, types against the stage table), so one bad file cannot spoil the batch.
// The plan — files, sha256 checksums, what happens to each — is saved as the batch manifest
// *before* any table changes: that is what makes a crash recoverable.

// %%
// A batch an interrupted run planned but did not stage is finished first (each step is a no-op
// when already done); its merge is left to target-data-load.ts.
for (const m of rt.state.unfinished()) {
  const earlier = beginBatch(rt, m, true);
  try {
    await quarantineStep(rt, earlier);
    await stageStep(rt, earlier);
  } finally {
    // The files were read again into temp tables for the stage write; they are not needed past it.
    await dropRawInputs(rt.compute);
  }
  await archiveStep(rt, earlier);
  console.log(`batch ${m.seq} (from an earlier run) is staged and waits for target-data-load.ts`);
}
const planned = pending.length ? await planBatch(rt, pending) : undefined;
if (!planned) console.log('nothing to stage');
else for (const f of planned.manifest.files) console.log(`  batch ${planned.manifest.seq}: ${f.key} → ${f.outcome}${f.records !== undefined ? ` (${f.records} records)` : ''}${f.error ? `: ${f.error.message}` : ''}`);

// %% [markdown]
// ## 4. Quarantine what cannot be read
// Files that failed validation move to the quarantine folder with a `<name>.error.json` saying what
// is wrong and where (line and column).

// %%
const progress = planned ? beginBatch(rt, planned.manifest, false) : undefined;
if (progress) await quarantineStep(rt, progress);

// %% [markdown]
// ## 5. Write the stage table (`stage_zn_new`)
// One Delta append for the whole batch, with lineage columns: `_batch` (the batch number),
// `_source_file`, `_ingested_at` and `_row_number`. The commit carries the transaction id
// `lakelet:<pipeline>:stage` at the batch number, so running it twice appends once.

// %%
if (progress && planned) {
  try {
    await stageStep(rt, progress, planned.prepared);
  } finally {
    // Reading the files (step 3) left one temp table per file; the stage write was their last use.
    await dropRawInputs(rt.compute);
  }
  const rows = await rt.tables.rows('stage', { where: `_batch = ${planned.manifest.seq}`, orderBy: '_source_file, _row_number', limit: 5 });
  console.log(`stage table version ${progress.stageVersion}; first rows of batch ${planned.manifest.seq}:`);
  console.table(rows);
}

// %% [markdown]
// ## 6. Move the processed files to the archive folder
// `dbutils.fs.mv` in the original. Here a file is copied to `archive/<yyyy>/<mm>/<dd>/<time>-<id>/`
// with create-only semantics (never overwriting anything), then removed from landing.

// %%
if (progress) {
  await archiveStep(rt, progress);
  console.log(`archived to ${rt.pipeline.archive}/${progress.manifest.folder}/`);
}
await runner.close();

// %% [markdown]
// Next: `target-data-load.ts` merges the staged batch into the target table.
