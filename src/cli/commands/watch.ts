import { mkdirSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { ChokidarTrigger } from '../../adapters/trigger/chokidar/chokidar-trigger.ts';
import { DirectoryScanTrigger } from '../../adapters/trigger/directory-scan/directory-scan-trigger.ts';
import type { FileArrival, FileTrigger } from '../../adapters/trigger/file-trigger.ts';
import { StorePollTrigger } from '../../adapters/trigger/store-poll/store-poll-trigger.ts';
import { openStore } from '../../adapters/storage/open-store.ts';
import { loadConfig } from '../../pipeline/config.ts';
import { PipelineRunner, summarize, type PipelineSummary } from '../../pipeline/runner.ts';
import { positiveInteger } from '../options.ts';
import { assertKnownPipelines } from '../pipeline-names.ts';
import { failIfIncomplete, pipelineOptions, printSummary, reporterFor, SUMMARY_HELP, type PipelineCliOptions } from './run.ts';

interface WatchOptions extends PipelineCliOptions {
  trigger: 'events' | 'poll';
  stableMs: number;
  burstMs: number;
  intervalMs: number;
}

export function registerWatch(program: Command): void {
  const cmd = program
    .command('watch')
    .summary('run the pipelines as files arrive, until stopped (Ctrl-C / SIGTERM)')
    .description(
      'Backfill what is already landed, then watch the landing folders and run a batch whenever files arrive ' +
        '(a burst becomes one batch). A file still being written is taken only once its size has stopped changing. ' +
        'Stops cleanly on SIGINT/SIGTERM after the batch in progress, printing a summary.',
    )
    .addOption(new Option('--trigger <kind>', 'filesystem events (chokidar) or polling by directory scan').choices(['events', 'poll']).default('events'))
    .option('--stable-ms <ms>', 'a file is complete when its size has not changed for this long', positiveInteger, 500)
    .option('--burst-ms <ms>', 'files becoming ready within this window go into one batch', positiveInteger, 200)
    .option('--interval-ms <ms>', 'how often --trigger poll lists the folders, and how often a gs:// landing is listed', positiveInteger, 1000);
  pipelineOptions(cmd).addHelpText('after', SUMMARY_HELP).action(async (options: WatchOptions) => {
    const config = loadConfig(options.config, { profile: options.profile });
    assertKnownPipelines(config, options.pipeline);
    const reporter = reporterFor(options);
    const runner = await PipelineRunner.open(config, { reporter, ...(options.pipeline ? { only: options.pipeline } : {}) });
    const totals = new Map<string, PipelineSummary[]>();
    // Pipelines with files left waiting (incomplete, no marker yet): they are listed again as a
    // whole on the next arrival and every retry interval, since an unchanged file or a marker file
    // is not reported by the trigger as a data file of its own.
    const waiting = new Set<string>();
    const record = (s: PipelineSummary) => {
      totals.set(s.pipeline, [...(totals.get(s.pipeline) ?? []), s]);
      if (s.waiting > 0) waiting.add(s.pipeline);
      else waiting.delete(s.pipeline);
    };
    const pipelines = runner.pipelines;
    const dirs = [...new Set(pipelines.map((p) => p.landing))];
    // A URI landing (gs://) has no folder to watch: its listing is polled instead. Local landings
    // keep filesystem events or the directory scan; a config may mix both.
    const uris = dirs.filter(isUri);
    const folders = dirs.filter((d) => !isUri(d));
    for (const d of folders) mkdirSync(d, { recursive: true });
    const triggers: FileTrigger[] = [];
    if (folders.length) {
      triggers.push(options.trigger === 'poll' ? new DirectoryScanTrigger(folders, options.intervalMs) : new ChokidarTrigger(folders, { stableMs: options.stableMs, burstMs: options.burstMs }));
    }
    if (uris.length) {
      const landings = uris.map((dir) => ({ dir, store: openStore(dir) }));
      triggers.push(new StorePollTrigger(landings, options.intervalMs, (dir, err) => reporter.event('warn', 'watch.list-failed', { landing: dir, error: err.message })));
    }
    // The signal handlers go in before the backfill, so that SIGTERM during a long backfill stops
    // after the batch in progress (the rest stays in landing) instead of killing a batch half-way.
    // A second signal means "now": exit at once (a killed batch is finished by the next run).
    let stopped!: () => void;
    const stopRequested = new Promise<void>((resolve) => (stopped = resolve));
    const onSignal = (signal: NodeJS.Signals) => {
      if (runner.stopped) process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
      reporter.event('info', 'watch.stopping', { signal });
      runner.stop();
      stopped();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const onReady = (files: FileArrival[]) => {
      if (runner.stopped) return;
      for (const p of pipelines) {
        const mine = files.filter((f) => f.dir === p.landing).map((f) => ({ key: f.key, size: f.size, lastModified: f.lastModified }));
        if (mine.length === 0) continue;
        runOne(p.name, waiting.has(p.name) ? undefined : mine);
      }
    };
    const runOne = (name: string, files?: { key: string; size: number; lastModified: number }[]) =>
      runner.runPipeline(name, files).then(record, (err: Error) => reporter.event('error', 'batch.failed', { pipeline: name, error: err.message }));
    const retry = setInterval(() => {
      if (runner.stopped) return;
      for (const name of waiting) runOne(name);
    }, Math.max(1000, options.intervalMs));
    retry.unref();
    try {
      for (const p of pipelines) {
        if (runner.stopped) break;
        record(await runner.runPipeline(p.name));
      }
      if (!runner.stopped) {
        for (const t of triggers) await t.start(onReady);
        reporter.event('info', 'watch.started', { pipelines: pipelines.map((p) => p.name), dirs });
        await stopRequested;
      }
    } finally {
      clearInterval(retry);
      for (const t of triggers) await t.close();
      // Waits for the batch in progress.
      await runner.close();
    }
    const merged = [...totals.entries()].map(([pipeline, list]) => {
      const s = summarize(list.map((x) => ({ ...x })));
      // Files waiting is a state, not a count of work: the last look's.
      return { pipeline, ...s.totals, waiting: list[list.length - 1].waiting };
    });
    const summary = summarize(merged);
    printSummary(summary, options, 'lakelet watch');
    failIfIncomplete(summary, pipelines, reporter);
  });
}

/** A location with a scheme (gs://bucket/…, file://…) rather than a local path. */
function isUri(location: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(location);
}
