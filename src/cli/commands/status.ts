import type { Command } from 'commander';
import picomatch from 'picomatch';
import { openStore } from '../../adapters/storage/open-store.ts';
import { BatchState } from '../../pipeline/batch-state.ts';
import { loadConfig } from '../../pipeline/config.ts';
import { IngestionLog } from '../../pipeline/ingestion-log.ts';
import { Compute } from '../../adapters/compute/duckdb.ts';
import { systemClock } from '../../engine/clock.ts';
import { nonNegativeInteger, printJson } from '../options.ts';
import { formatTable, humanBytes } from '../output/table-format.ts';

interface StatusOptions {
  config: string;
  limit: number;
  json?: boolean;
}

export function registerStatus(program: Command): void {
  program
    .command('status')
    .summary('show the pipelines: files waiting, batches, counts by status, recent files')
    .description('Per pipeline: files waiting in landing, batches done and unfinished, and files by status (merged, staged, quarantined, duplicate) from the ingestion log; then the most recent files.')
    .option('-c, --config <file>', 'the pipeline definition', 'lakelet.yml')
    .option('-n, --limit <n>', 'how many recent files to show', nonNegativeInteger, 20)
    .option('--json', 'print as JSON')
    .action(async (options: StatusOptions) => {
      const config = loadConfig(options.config);
      const compute = await Compute.open();
      const log = await IngestionLog.open(config.ingestionLog, compute, systemClock);
      try {
        const rows = await log.read();
        const pipelines = [];
        for (const p of config.pipelines) {
          const state = new BatchState(p.name, p.stateDir);
          await state.load();
          const batches = state.all();
          const match = picomatch(p.pattern);
          const waiting = (await openStore(p.landing).list('')).filter((f) => match(f.key));
          const mine = rows.filter((r) => r.pipeline === p.name);
          const count = (status: string) => mine.filter((r) => r.status === status).length;
          pipelines.push({
            pipeline: p.name,
            landing: p.landing,
            waiting: waiting.length,
            waitingBytes: waiting.reduce((a, f) => a + f.size, 0),
            batches: batches.filter((b) => b.done).length,
            unfinished: batches.filter((b) => !b.done).map((b) => b.manifest.seq),
            merged: count('merged'),
            staged: count('staged'),
            quarantined: count('quarantined'),
            duplicate: count('duplicate'),
            records: mine.filter((r) => r.status === 'merged' || r.status === 'staged').reduce((a, r) => a + Number(r.records), 0),
            lastBatchAt: batches.length ? new Date(batches[batches.length - 1].done?.finishedAt ?? batches[batches.length - 1].manifest.createdAt).toISOString() : null,
          });
        }
        const recent = rows.slice(0, options.limit);
        if (options.json) {
          printJson({ config: config.file, ingestionLog: config.ingestionLog, pipelines, recent });
          return;
        }
        process.stdout.write(
          formatTable(
            ['pipeline', 'waiting', 'batches', 'unfinished', 'merged', 'staged', 'quarantined', 'duplicate', 'records', 'last batch'],
            pipelines.map((p) => [p.pipeline, `${p.waiting} (${humanBytes(p.waitingBytes)})`, String(p.batches), p.unfinished.join(',') || '-', String(p.merged), String(p.staged), String(p.quarantined), String(p.duplicate), String(p.records), p.lastBatchAt ?? '-']),
          ) + '\n',
        );
        if (recent.length) {
          process.stdout.write('\nrecent files:\n');
          process.stdout.write(
            formatTable(
              ['pipeline', 'batch', 'file', 'status', 'records', 'rejected', 'repaired', 'error'],
              recent.map((r) => [String(r.pipeline), String(r.batch), String(r.file_name), String(r.status), String(r.records), String(r.rows_rejected), r.repaired ? 'yes' : '', r.error ? String(r.error).slice(0, 80) : '']),
            ) + '\n',
          );
        }
      } finally {
        log.close();
        compute.close();
      }
    });
}
