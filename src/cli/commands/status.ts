import type { Command } from 'commander';
import { openStore } from '../../adapters/storage/open-store.ts';
import { sortLanding } from '../../pipeline/arrival.ts';
import { BatchState } from '../../pipeline/batch-state.ts';
import { loadConfig } from '../../pipeline/config.ts';
import { openIngestionLog } from '../../pipeline/ingestion-log.ts';
import { openCompute } from '../../adapters/compute/open-compute.ts';
import { systemClock } from '../../adapters/clock.ts';
import { commaList, nonNegativeInteger, printJson } from '../options.ts';
import { formatTable, humanBytes, plural } from '../output/table-format.ts';
import { syncStatus, type SyncTableStatus } from '../../pipeline/sync/sync-status.ts';
import { openWarehouse } from '../../warehouse/open-warehouse.ts';
import type { LakeletConfig } from '../../pipeline/config.ts';
import type { Compute } from '../../adapters/compute/compute.ts';
import { profileOption } from '../profile-option.ts';
import { assertKnownPipelines } from '../pipeline-names.ts';

interface StatusOptions {
  config: string;
  profile?: string;
  pipeline?: string[];
  limit: number;
  file?: string;
  json?: boolean;
}

/**
 * Files by what became of them, with the words of `lakelet run`'s summary: staged (rows appended
 * to the stage table; merged ones included), merged (staged, then merged into the target),
 * quarantined (still in quarantine: a file requeued since is not counted, it is waiting in landing
 * or loaded by a later batch), duplicate, and how many requeues there were.
 */
export function fileCounts(rows: Record<string, unknown>[]): { merged: number; staged: number; quarantined: number; duplicate: number; replaced: number; requeued: number } {
  const count = (status: string) => rows.filter((r) => r.status === status).length;
  // Oldest first: a 'requeued' row takes back the quarantine of the same file (name and bytes) before it.
  const stillQuarantined = new Map<string, number>();
  for (const r of [...rows].reverse()) {
    const id = `${String(r.file_name)}\0${String(r.sha256)}`;
    if (r.status === 'quarantined') stillQuarantined.set(id, (stillQuarantined.get(id) ?? 0) + 1);
    if (r.status === 'requeued' && (stillQuarantined.get(id) ?? 0) > 0) stillQuarantined.set(id, stillQuarantined.get(id)! - 1);
  }
  return {
    merged: count('merged'),
    staged: count('staged') + count('merged'),
    quarantined: [...stillQuarantined.values()].reduce((a, n) => a + n, 0),
    duplicate: count('duplicate'),
    replaced: count('replaced'),
    requeued: count('requeued'),
  };
}

export function registerStatus(program: Command): void {
  const cmd = program
    .command('status')
    .summary('show the pipelines: files waiting, batches, counts by status, recent files')
    .description(
      'Per pipeline: files waiting in landing, batches done and unfinished, and files by what became of them, from the ingestion log; ' +
        'then the most recent files. The words are those of the `lakelet run` summary: staged = rows appended to the stage table ' +
        '(merged files included), merged = staged and then merged into the target, quarantined = still in quarantine (a requeued ' +
        'file is not), duplicate = the same bytes as a file already applied, replaced = overwritten in landing before its batch staged it, requeued = moved back to landing by `lakelet requeue`.',
    )
    .option('-c, --config <file>', 'the pipeline definition', 'lakelet.yml');
  profileOption(cmd)
    .option('-p, --pipeline <names>', 'only these pipelines (comma-separated), as run and requeue take them', commaList)
    .option('-n, --limit <n>', 'how many recent files to show', nonNegativeInteger, 20)
    .option('--file <name>', "the history of one file (its name in landing): every log row, oldest first")
    .option('--json', 'print as JSON')
    .action(async (options: StatusOptions) => {
      const config = loadConfig(options.config, { profile: options.profile });
      assertKnownPipelines(config, options.pipeline);
      // -p: those pipelines and their files only (database sources are not pipelines: left out).
      const chosen = (name: unknown) => !options.pipeline || options.pipeline.includes(String(name));
      const compute = await openCompute();
      const log = await openIngestionLog(config, compute, systemClock);
      try {
        const rows = (await log.read()).filter((r) => chosen(r.pipeline));
        const pipelines = [];
        for (const p of config.pipelines.filter((x) => chosen(x.name))) {
          const state = new BatchState(p.name, p.stateDir);
          await state.load();
          const batches = state.all();
          // The runner's own rule for what is data in landing (pattern, hidden and temporary names, markers).
          // (And what looks like a mistake: files the pattern leaves out, a missing landing folder.)
          const landing = openStore(p.landing);
          const { data: waiting, unmatched, folderMissing: landingMissing } = sortLanding(p, landing, await landing.list(''));
          const mine = rows.filter((r) => r.pipeline === p.name);
          pipelines.push({
            pipeline: p.name,
            landing: p.landing,
            waiting: waiting.length,
            waitingBytes: waiting.reduce((a, f) => a + f.size, 0),
            unmatched,
            ...(landingMissing ? { landingMissing } : {}),
            batches: batches.filter((b) => b.done).length,
            unfinished: batches.filter((b) => !b.done).map((b) => b.manifest.seq),
            ...fileCounts(mine),
            records: mine.filter((r) => r.status === 'merged' || r.status === 'staged').reduce((a, r) => a + Number(r.records), 0),
            lastBatchAt: batches.length ? new Date(batches[batches.length - 1].done?.finishedAt ?? batches[batches.length - 1].manifest.createdAt).toISOString() : null,
          });
        }
        const recent = options.file ? rows.filter((r) => r.file_name === options.file || String(r.file_name).split('/').pop() === options.file).reverse() : rows.slice(0, options.limit);
        const sources = options.pipeline ? [] : await sourceStatus(config, compute);
        if (options.json) {
          printJson({ config: config.file, ingestionLog: config.ingestionLog, pipelines, ...(options.file ? { history: recent } : { recent }), ...(config.sources.length && !options.pipeline ? { sources } : {}) });
          return;
        }
        printSources(sources);
        process.stdout.write(
          formatTable(
            ['pipeline', 'waiting', 'batches', 'unfinished', 'staged', 'merged', 'quarantined', 'duplicate', 'requeued', 'records', 'last batch'],
            pipelines.map((p) => [p.pipeline, `${p.waiting} (${humanBytes(p.waitingBytes)})`, String(p.batches), p.unfinished.join(',') || '-', String(p.staged), String(p.merged), String(p.quarantined), String(p.duplicate), String(p.requeued), String(p.records), p.lastBatchAt ?? '-']),
          ) + '\n',
        );
        for (const p of pipelines) {
          if (p.landingMissing) process.stdout.write(`note: ${p.pipeline}: the landing folder ${p.landing} does not exist: check landing: in ${config.file}\n`);
          if (p.unmatched.length) {
            const shown = p.unmatched.slice(0, 5).join(', ') + (p.unmatched.length > 5 ? `, … (${p.unmatched.length - 5} more)` : '');
            process.stdout.write(`note: ${p.pipeline}: ${plural(p.unmatched.length, 'file')} in landing match${p.unmatched.length === 1 ? 'es' : ''} no pattern '${config.pipelines.find((c) => c.name === p.pipeline)!.pattern}' and ${p.unmatched.length === 1 ? 'is' : 'are'} not taken: ${shown}\n`);
          }
        }
        if (recent.length) {
          process.stdout.write(options.file ? `\nhistory of ${options.file} (oldest first):\n` : '\nrecent files:\n');
          process.stdout.write(
            formatTable(
              ['pipeline', 'batch', 'file', 'status', 'records', 'rejected', 'repaired', 'error'],
              recent.map((r) => [String(r.pipeline), String(r.batch), String(r.file_name), String(r.status), String(r.records), String(r.rows_rejected), r.repaired ? 'yes' : '', r.error ? String(r.error) : r.status === 'requeued' ? `moved back to ${String(r.moved_to)}` : '']),
              { maxCellWidth: CELL_WIDTH },
            ) + '\n',
          );
          // The table cuts long cells: one file's history gives its errors whole; the recent list says how to see them.
          const failed = recent.filter((r) => r.error);
          if (options.file && failed.length) process.stdout.write(`\nerrors:\n${failed.map((r) => `batch ${String(r.batch)}: ${String(r.error)}`).join('\n')}\n`);
          else if (failed.some((r) => [...String(r.error)].length > CELL_WIDTH)) process.stdout.write(`(errors are cut to fit: lakelet status --file <name> shows a file's whole history and errors)\n`);
        }
      } finally {
        log.close();
        compute.close();
      }
    });
}

/** Widest cell of the recent-files table (file names, errors): longer ones end in an ellipsis. */
const CELL_WIDTH = 60;

/** Database sources (lakelet sync): per table the committed watermark, rows, last run and lag. */
async function sourceStatus(config: LakeletConfig, compute: Compute): Promise<{ source: string; tables: SyncTableStatus[] }[]> {
  if (config.sources.length === 0) return [];
  const warehouse = openWarehouse(config, { compute, clock: systemClock });
  try {
    return await syncStatus(config, { warehouse, compute, clock: systemClock });
  } finally {
    warehouse.close();
  }
}

function printSources(sources: { source: string; tables: SyncTableStatus[] }[]): void {
  const rows = sources.flatMap((s) => s.tables.map((t) => [t.source, t.table, t.watermark ?? '(full)', String(t.rowsLastRun), String(t.rowsTotal), t.lastRun, `${Math.round(t.lagMs / 1000)} s`]));
  if (!sources.length) return;
  process.stdout.write('\nsynced tables:\n');
  process.stdout.write((rows.length ? formatTable(['source', 'table', 'last watermark', 'rows read last run', 'rows read in all', 'last run', 'lag'], rows) : '(none synced yet: run lakelet sync)') + '\n');
}
