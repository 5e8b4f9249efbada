import picomatch from 'picomatch';
import { InputError } from '../../errors/lakelet-error.ts';
import type { PipelineConfig } from '../../pipeline/config.ts';
import { extensionOf, OUTPUT_FORMATS, type OutputFormat } from './batch-writer.ts';
import type { SyntheticDataset } from './dataset.ts';

/**
 * `lakelet generate <dataset> --pipeline <name>`: where and how to write so that the pipeline takes
 * every file. The files go to the pipeline's landing folder in its format, and nothing is written
 * when they would not fit (a key, orderBy or partitionBy column the dataset lacks, a pattern that does not match
 * the file names, delete rows the pipeline would load as plain rows), since a mismatch would
 * otherwise only show up as quarantined files after `lakelet run`.
 */
export function fitToPipeline(
  dataset: SyntheticDataset,
  pipeline: PipelineConfig,
  options: { format?: OutputFormat; deletes: boolean; opColumn: boolean; file: string },
): { out: string; format: OutputFormat } {
  const where = `pipeline '${pipeline.name}' (${options.file})`;
  const format = pipeline.format as OutputFormat;
  if (!OUTPUT_FORMATS.includes(format)) {
    throw new InputError(`${where} reads ${pipeline.format} files; lakelet generate writes ${OUTPUT_FORMATS.join(', ')}.`);
  }
  if (options.format && options.format !== format) {
    throw new InputError(`${where} reads ${format} files, not ${options.format}; leave out --format (it follows the pipeline).`);
  }
  // Columns the pipeline will see: the dataset's, the op column, and names given by rename transforms.
  const columns = new Set([...dataset.columns, ...(options.deletes || options.opColumn ? ['op'] : [])].map((c) => c.toLowerCase()));
  for (const [from, t] of Object.entries(pipeline.transforms)) if (t.rename && columns.has(from.toLowerCase())) columns.add(t.rename.toLowerCase());
  const needed = [...pipeline.key.map((k) => ['key', k]), ...(pipeline.orderBy ? [['orderBy', pipeline.orderBy]] : []), ...pipeline.partitionBy.map((c) => ['partitionBy', c])];
  const lacking = needed.filter(([, c]) => !columns.has(c.toLowerCase()));
  if (lacking.length > 0) {
    throw new InputError(
      `${where} needs ${lacking.map(([what, c]) => `${what} column '${c}'`).join(' and ')}, which ${dataset.name} data does not have ` +
        `(its columns: ${dataset.columns.join(', ')}). Pick the dataset that fits the pipeline, or change the pipeline's ${[...new Set(lacking.map(([what]) => what))].join('/')}.`,
    );
  }
  const sample = `${dataset.name}-b0000${extensionOf(format)}`;
  if (!picomatch(pipeline.pattern, { dot: false })(sample)) {
    throw new InputError(`${where} takes files matching '${pipeline.pattern}', which generated names like '${sample}' do not match.`);
  }
  if (options.deletes) {
    const marker = pipeline.deletes;
    if (!marker || marker.column.toLowerCase() !== 'op' || !marker.values.map(String).includes('D')) {
      throw new InputError(
        `${where} has no delete marker 'deletes: { column: op, values: [D] }', so generated delete rows (op = 'D') would be loaded as ordinary rows. ` +
          'Add it to the pipeline, or generate without --delete-fraction.',
      );
    }
  }
  return { out: pipeline.landing, format };
}
