import type { ManifestFile } from './batch-state.ts';
import type { PipelineConfig } from './config.ts';
import type { FileRejectedError, RejectKind } from './errors.ts';

/**
 * A rejected file's error as its manifest (and so its quarantined `.error.json`) keeps it: every
 * one says what to do, so when the place that refused the file had no particular advice, the
 * kind's general one is given.
 */
export function rejectionError(err: FileRejectedError, key: string, pipeline: PipelineConfig): NonNullable<ManifestFile['error']> {
  return { kind: err.kind, message: err.detail, ...(err.position ? { position: err.position } : {}), hint: err.hint ?? kindHint(err.kind, key, pipeline) };
}

/** What to do about a file rejected for this kind of reason, when nothing more particular is known. */
export function kindHint(kind: RejectKind, key: string, pipeline: PipelineConfig): string {
  const requeue = `then run \`lakelet requeue ${key} -p ${pipeline.name}\``;
  switch (kind) {
    case 'empty':
      return `there is nothing to load: if the file was taken before its writer had finished, land the complete file again (a longer arrival.stable in lakelet.yml waits for slow writers); otherwise delete it from quarantine`;
    case 'csv':
      return `fix the file where the error says (every quote closed, every record with the header's fields), or set this pipeline's csv dialect (delimiter, quote, escape, header) in lakelet.yml; ${requeue}`;
    case 'json':
      return `fix the JSON where the error says (json.repair: true in lakelet.yml repairs Python-style pseudo-JSON); ${requeue}`;
    case 'parquet':
      return `the file may be cut short, still have been written to, or be in another format: land a complete copy again, or fix the quarantined file and ${requeue.replace(/^then /, '')}`;
    case 'schema':
      return `make the file's columns fit the pipeline (key, orderBy, transforms and schemaDrift in lakelet.yml), or fix the file; ${requeue}`;
    case 'cast':
      return `use badRecords: quarantine-file to load the other records, or badRecords/schemaDrift: rescue to keep such values in _rescued_data; ${requeue}`;
    case 'encoding':
      return `convert the file to UTF-8; ${requeue}`;
    case 'incomplete':
      return `complete the file (or put a fixed copy in landing); ${requeue}`;
    case 'read':
      return `check that the file can be read and is in this pipeline's format (${pipeline.format}); ${requeue}`;
  }
}
