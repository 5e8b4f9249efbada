import type { Compute } from '../adapters/compute/compute.ts';
import type { ObjectMeta } from '../adapters/storage/object-store.ts';
import type { FinalizedObject } from '../adapters/trigger/cloud-function/finalized-object.ts';
import { dataFileFilter, DONE_SUFFIX, SUCCESS_MARKER } from '../pipeline/arrival.ts';
import type { LakeletConfig, PipelineConfig } from '../pipeline/config.ts';
import { PipelineRunner, type PipelineSummary } from '../pipeline/runner.ts';
import type { PipelineRuntime } from '../pipeline/runtime.ts';
import { claimObject, gsLandings } from './claim.ts';
import { cloudLogReporter, type CloudLog } from './cloud-logging.ts';
import { FunctionSetupError } from './errors.ts';

/**
 * One Cloud Storage finalize event: the pipeline whose landing holds the object runs for that
 * object alone (not a listing of the landing), through the same batch steps as `lakelet run`, so
 * the exactly-once rules, arrival checks, quarantine and archive all hold. Resolving acknowledges
 * the event; throwing (a busy or failing store, a commit conflict, a broken setup) has the platform
 * deliver it again.
 *
 * A redelivered event finds its object gone from the landing (archived by the earlier delivery)
 * or, if that delivery stopped midway, finishes the batch it left (the runner recovers unfinished
 * batches first, from their manifests and the tables' txn versions): applied once either way.
 */
export type PipelineOutcome =
  | { pipeline: string; outcome: 'ran'; summary: PipelineSummary }
  /**
   * Not in the landing any more: an earlier delivery took it (or someone removed it). `recovered`:
   * that delivery stopped after archiving it, and this one finished its batch.
   */
  | { pipeline: string; outcome: 'gone'; recovered?: PipelineSummary }
  /** The live object is a later upload under the name; that upload's own event takes it. */
  | { pipeline: string; outcome: 'superseded'; liveGeneration: string; recovered?: PipelineSummary }
  /** Not a data file of the pipeline: a temporary or hidden name, another pattern. */
  | { pipeline: string; outcome: 'ignored'; reason: string };

export interface FinalizedResult {
  /** gs://bucket/name of the event's object. */
  object: string;
  claimed: boolean;
  outcomes: PipelineOutcome[];
}

export interface FinalizedEnv {
  config: LakeletConfig;
  compute: Compute;
  /** Where the lines go, already carrying the event's id and object. */
  log: CloudLog;
  /** On Cloud Run (K_SERVICE set): the instance's disk does not outlive it. */
  ephemeralDisk: boolean;
}

/** What the object is to one pipeline: a data file, a completion marker for some data files, or neither. */
type Role = { role: 'data' } | { role: 'marker'; files: (rt: PipelineRuntime) => Promise<string[]> } | { role: 'ignored'; reason: string };

export async function handleFinalized(object: FinalizedObject, env: FinalizedEnv): Promise<FinalizedResult> {
  const uri = `gs://${object.bucket}/${object.name}`;
  const { config, log } = env;
  const claim = claimObject(config.pipelines, object.bucket, object.name);
  if (!claim) {
    const landings = gsLandings(config.pipelines);
    log.write('INFO', `${uri}: no pipeline in ${config.file} has a landing holding this object (gs:// landings: ${landings.join(', ') || 'none'}); acknowledged, nothing done.`, { outcome: 'unclaimed' });
    return { object: uri, claimed: false, outcomes: [] };
  }
  const outcomes: PipelineOutcome[] = [];
  const active: { pipeline: PipelineConfig; role: Exclude<Role, { role: 'ignored' }> }[] = [];
  for (const p of claim.pipelines) {
    const role = roleOf(p, claim.key);
    if (role.role === 'ignored') {
      outcomes.push({ pipeline: p.name, outcome: 'ignored', reason: role.reason });
      log.write('INFO', `${uri}: ${role.reason}; acknowledged, nothing done.`, { pipeline: p.name, outcome: 'ignored' });
    } else {
      active.push({ pipeline: p, role });
    }
  }
  if (active.length === 0) return { object: uri, claimed: true, outcomes };
  if (env.ephemeralDisk) assertDurable(config, active.map((a) => a.pipeline));

  const runner = await PipelineRunner.open(config, { compute: env.compute, reporter: cloudLogReporter(log), only: active.map((a) => a.pipeline.name) });
  try {
    for (const { pipeline, role } of active) {
      const rt = runner.runtime(pipeline.name);
      const fields = { pipeline: pipeline.name };
      let files: ObjectMeta[];
      if (role.role === 'data') {
        const head = await rt.landing.head(claim.key);
        if (!head) {
          const recovered = await finishUnfinished(runner, pipeline.name);
          outcomes.push({ pipeline: pipeline.name, outcome: 'gone', ...(recovered ? { recovered } : {}) });
          log.write(
            'INFO',
            `${uri}: no longer in the landing of pipeline ${pipeline.name} (an earlier delivery of this event took it, or it was removed)${recovered ? `; finished what that delivery left: ${describe(recovered)}` : ''}; acknowledged.`,
            { ...fields, outcome: 'gone', ...(recovered ? { summary: recovered } : {}) },
          );
          continue;
        }
        if (object.generation && head.generation && head.generation !== object.generation) {
          const recovered = await finishUnfinished(runner, pipeline.name);
          outcomes.push({ pipeline: pipeline.name, outcome: 'superseded', liveGeneration: head.generation, ...(recovered ? { recovered } : {}) });
          log.write('INFO', `${uri}: generation ${object.generation} was overwritten by generation ${head.generation}, which its own event brings; acknowledged, nothing done for this one.`, { ...fields, outcome: 'superseded' });
          continue;
        }
        files = [head];
      } else {
        files = [];
        for (const key of await role.files(rt)) {
          const head = await rt.landing.head(key);
          if (head) files.push(head);
        }
        if (files.length === 0) {
          const recovered = await finishUnfinished(runner, pipeline.name);
          outcomes.push({ pipeline: pipeline.name, outcome: 'gone', ...(recovered ? { recovered } : {}) });
          log.write('INFO', `${uri}: a completion marker whose data files are no longer in the landing of pipeline ${pipeline.name}; acknowledged, nothing to do.`, { ...fields, outcome: 'gone' });
          continue;
        }
      }
      const summary = await runner.runPipeline(pipeline.name, files, { finalized: true });
      outcomes.push({ pipeline: pipeline.name, outcome: 'ran', summary });
      const leftOut = summary.quarantined > 0 || summary.rowsRejected > 0;
      log.write(leftOut ? 'WARNING' : 'INFO', `${uri}: pipeline ${pipeline.name}: ${describe(summary)}${leftOut ? ` (see ${pipeline.quarantine} and 'lakelet status')` : ''}; acknowledged.`, {
        ...fields,
        outcome: 'ran',
        summary,
      });
    }
  } finally {
    await runner.close();
  }
  return { object: uri, claimed: true, outcomes };
}

/**
 * A batch an earlier delivery left unfinished (it stopped after archiving the file, before the MERGE
 * or the log), finished now: the file being gone from the landing must not leave its batch half done
 * until some later event of the pipeline comes along.
 */
async function finishUnfinished(runner: PipelineRunner, name: string): Promise<PipelineSummary | undefined> {
  if (runner.runtime(name).state.unfinished().length === 0) return undefined;
  return runner.runPipeline(name, [], { finalized: true });
}

function roleOf(p: PipelineConfig, key: string): Role {
  if (dataFileFilter(p)(key)) return { role: 'data' };
  const slash = key.lastIndexOf('/');
  const base = key.slice(slash + 1);
  if (p.arrival.marker === 'done' && key.endsWith(DONE_SUFFIX) && dataFileFilter(p)(key.slice(0, -DONE_SUFFIX.length))) {
    return { role: 'marker', files: async () => [key.slice(0, -DONE_SUFFIX.length)] };
  }
  if (p.arrival.marker === 'success' && base === SUCCESS_MARKER) {
    // The data files directly in the marker's folder: the marker says all of them are complete.
    const folder = key.slice(0, slash + 1);
    const isData = dataFileFilter(p);
    return { role: 'marker', files: async (rt) => (await rt.landing.list(folder)).map((m) => m.key).filter((k) => !k.slice(folder.length).includes('/') && isData(k)) };
  }
  return {
    role: 'ignored',
    reason: `not a data file of pipeline ${p.name} (its pattern is '${p.pattern}'; temporary names (arrival.ignore), hidden names and completion markers are never taken)`,
  };
}

/**
 * On Cloud Run every local path is the instance's own disk, gone with the instance: the batch state
 * there would let the next instance plan batch 1 again and take it for applied, and tables there
 * would be lost. Every location a pipeline writes must be on gs:// then.
 */
function assertDurable(config: LakeletConfig, pipelines: PipelineConfig[]): void {
  const local: string[] = [];
  const check = (what: string, location: string | undefined) => {
    if (location !== undefined && !/^gs:\/\//i.test(location)) local.push(`${what} ${location}`);
  };
  check('stateDir', config.stateDir);
  check('ingestionLog', config.ingestionLog);
  for (const p of pipelines) {
    check(`pipelines.${p.name}.stage`, p.stage);
    check(`pipelines.${p.name}.target`, p.target);
    check(`pipelines.${p.name}.archive`, p.archive);
    check(`pipelines.${p.name}.quarantine`, p.quarantine);
  }
  if (local.length === 0) return;
  throw new FunctionSetupError(
    `${config.file}: on Cloud Run the instance's disk is wiped with the instance, so these locations would be lost and exactly-once broken: ${local.join(', ')}. ` +
      'Put them on gs:// (e.g. stateDir: gs://<bucket>/lakelet-state) and deploy again; events are retried meanwhile.',
  );
}

function describe(s: PipelineSummary): string {
  const parts = [
    `${s.files} file${s.files === 1 ? '' : 's'}: ${s.staged} staged, ${s.merged} merged, ${s.quarantined} quarantined, ${s.duplicates} duplicate${s.duplicates === 1 ? '' : 's'}`,
    `rows: ${s.rowsInserted} inserted, ${s.rowsUpdated} updated, ${s.rowsDeleted} deleted, ${s.rowsRejected} rejected`,
  ];
  if (s.recovered) parts.push(`${s.recovered} unfinished batch${s.recovered === 1 ? '' : 'es'} finished first`);
  if (s.waiting) parts.push(`${s.waiting} waiting (for a completion marker, whose own event runs it)`);
  return parts.join('; ');
}
