import type { Command } from 'commander';
import type { HistoryEntry } from '../../engine/delta/history.ts';
import { isoTime, positiveInteger, printJson, withTable } from '../options.ts';
import { formatTable } from '../output/table-format.ts';

interface HistoryOptions {
  limit?: number;
  json?: boolean;
}

export function registerHistory(program: Command): void {
  program
    .command('history')
    .summary('list the commits of a table, newest first')
    .description(
      'List the commits of a Delta table, newest first: version, commit time (ISO-8601 UTC), operation, ' +
        'its parameters and the metrics it recorded (files, rows, bytes written or removed).',
    )
    .argument('<table>', 'path of the Delta table')
    .option('--limit <n>', 'show only the n most recent commits', positiveInteger)
    .option('--json', 'print a JSON array instead of a table')
    .addHelpText(
      'after',
      `
Examples:
  $ lakelet history ./tables/orders
  $ lakelet history ./tables/orders --limit 5
  $ lakelet history ./tables/orders --json | jq '.[0].operationMetrics'`,
    )
    .action(async (location: string, options: HistoryOptions) => {
      const entries = await withTable(location, (table) => table.history(options.limit));
      if (options.json) printJson(entries.map(toJson));
      else process.stdout.write(renderText(entries));
    });
}

function toJson(e: HistoryEntry): Record<string, unknown> {
  return {
    version: e.version,
    timestamp: isoTime(e.timestamp),
    operation: e.operation,
    operationParameters: e.operationParameters,
    operationMetrics: e.operationMetrics,
    ...(e.readVersion !== undefined ? { readVersion: e.readVersion } : {}),
    ...(e.isolationLevel !== undefined ? { isolationLevel: e.isolationLevel } : {}),
    ...(e.isBlindAppend !== undefined ? { isBlindAppend: e.isBlindAppend } : {}),
    ...(e.engineInfo !== undefined ? { engineInfo: e.engineInfo } : {}),
    ...(e.userMetadata !== undefined ? { userMetadata: e.userMetadata } : {}),
  };
}

function renderText(entries: HistoryEntry[]): string {
  if (entries.length === 0) return '(no commits)\n';
  const rows = entries.map((e) => [
    String(e.version),
    isoTime(e.timestamp) ?? '',
    e.operation,
    keyValues(e.operationParameters),
    keyValues(e.operationMetrics),
  ]);
  return formatTable(['version', 'timestamp', 'operation', 'parameters', 'metrics'], rows, {
    rightAlign: [true, false, false, false, false],
    maxCellWidth: 80,
  });
}

/** {mode: "Append", partitionBy: []} → "mode=Append partitionBy=[]". */
function keyValues(record: Record<string, unknown>): string {
  return Object.entries(record)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
}
