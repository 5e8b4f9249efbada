import { Option, type Command } from 'commander';
import type { Snapshot } from '../../engine/delta/snapshot.ts';
import { typeText } from '../../engine/delta/schema.ts';
import { isoTime, nonNegativeInteger, printJson, withTable } from '../options.ts';
import { formatKeyValues, formatTable, humanBytes, plural } from '../output/table-format.ts';

interface DescribeOptions {
  version?: number;
  json?: boolean;
}

export function registerDescribe(program: Command): void {
  program
    .command('describe')
    .summary('show the schema, partitioning, protocol and properties of a table')
    .description(
      'Show what a Delta table is at its latest (or a given) version: schema (name, type, nullable), ' +
        'partition columns, protocol versions and features, table properties, version, file count, ' +
        'total size, creation time and table id.',
    )
    .argument('<table>', 'path of the Delta table')
    .addOption(new Option('--version <n>', 'describe the table as of this version').argParser(nonNegativeInteger))
    .option('--json', 'print JSON (sizes in bytes, times ISO-8601) instead of text')
    .addHelpText(
      'after',
      `
Examples:
  $ lakelet describe ./tables/orders
  $ lakelet describe ./tables/orders --version 2
  $ lakelet describe ./tables/orders --json | jq '.schema[].name'`,
    )
    .action(async (location: string, options: DescribeOptions) => {
      const snapshot = await withTable(location, (table) => table.snapshot({ version: options.version }));
      if (options.json) printJson(toJson(snapshot));
      else process.stdout.write(renderText(snapshot));
    });
}

function toJson(s: Snapshot): Record<string, unknown> {
  const m = s.metadata;
  return {
    table: s.table.uri,
    id: m.id,
    ...(m.name !== undefined && m.name !== null ? { name: m.name } : {}),
    ...(m.description !== undefined && m.description !== null ? { description: m.description } : {}),
    version: s.version,
    timestamp: isoTime(s.timestamp),
    createdTime: isoTime(m.createdTime ?? undefined),
    numFiles: s.fileCount,
    sizeInBytes: s.sizeInBytes,
    partitionColumns: s.partitionColumns,
    protocol: {
      minReaderVersion: s.protocol.minReaderVersion,
      minWriterVersion: s.protocol.minWriterVersion,
      ...(s.protocol.readerFeatures ? { readerFeatures: s.protocol.readerFeatures } : {}),
      ...(s.protocol.writerFeatures ? { writerFeatures: s.protocol.writerFeatures } : {}),
    },
    properties: s.configuration,
    schema: s.schema.fields.map((f) => ({
      name: f.name,
      type: f.type,
      nullable: f.nullable,
      ...(f.metadata && Object.keys(f.metadata).length > 0 ? { metadata: f.metadata } : {}),
    })),
  };
}

function renderText(s: Snapshot): string {
  const m = s.metadata;
  const p = s.protocol;
  const pairs: [string, string][] = [['table', s.table.uri], ['id', m.id]];
  if (m.name) pairs.push(['name', m.name]);
  if (m.description) pairs.push(['description', m.description]);
  pairs.push(['version', `${s.version} (committed ${isoTime(s.timestamp) ?? 'at an unknown time'})`]);
  pairs.push(['created', isoTime(m.createdTime ?? undefined) ?? 'unknown']);
  pairs.push(['files', `${plural(s.fileCount, 'file')}, ${humanBytes(s.sizeInBytes)}`]);
  pairs.push(['partitioned by', s.partitionColumns.length ? s.partitionColumns.join(', ') : '(not partitioned)']);
  pairs.push(['protocol', `reader version ${p.minReaderVersion}, writer version ${p.minWriterVersion}`]);
  if (p.readerFeatures?.length) pairs.push(['reader features', p.readerFeatures.join(', ')]);
  if (p.writerFeatures?.length) pairs.push(['writer features', p.writerFeatures.join(', ')]);
  const props = Object.entries(s.configuration);
  if (props.length === 0) pairs.push(['properties', '(none)']);
  else props.forEach(([k, v], i) => pairs.push([i === 0 ? 'properties' : '', `${k}=${v}`]));

  const partitionSet = new Set(s.partitionColumns);
  const schemaRows = s.schema.fields.map((f) => [
    f.name,
    typeText(f.type),
    f.nullable ? 'yes' : 'no',
    partitionSet.has(f.name) ? 'partition' : '',
  ]);
  return (
    formatKeyValues(pairs) +
    '\nschema\n' +
    formatTable(['column', 'type', 'nullable', ''], schemaRows, { maxCellWidth: 100 })
      .split('\n')
      .map((line) => (line ? `  ${line}` : line))
      .join('\n')
  );
}

