import type { PipelineRuntime } from './runtime.ts';

/**
 * Brings the stage and target tables' properties to what lakelet.yml says (`stage.properties`,
 * `target.properties`). A table that does not exist yet gets them when the pipeline creates it
 * (batch.ts); an existing one whose values differ gets one metadata-only commit (SET TBLPROPERTIES),
 * so adding `delta.enableChangeDataFeed: true` to a running pipeline takes effect at the next run.
 * Runs under the pipeline's lock, before any batch, so it never races the pipeline's own commits.
 * Properties removed from lakelet.yml stay on the table (as with Spark, only an explicit unset removes one).
 */
export async function applyTableProperties(rt: PipelineRuntime): Promise<void> {
  for (const change of await rt.tables.syncProperties()) {
    rt.reporter.event('info', 'table.properties-set', { pipeline: rt.pipeline.name, ...change });
  }
}
