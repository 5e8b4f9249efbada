/**
 * Typed errors. Every message says what happened, to which table/file/version, and what to do.
 * `code` is stable and machine-readable; the CLI prints `message` as one line.
 */
import { InputError, LakeletError } from '../errors/lakelet-error.ts';

export { InputError, LakeletError };

/** The path has no `_delta_log` with any commit or checkpoint in it. */
export class NotATableError extends LakeletError {
  constructor(readonly tablePath: string, detail = '') {
    super(
      'NOT_A_TABLE',
      `${tablePath} is not a Delta table: no _delta_log commits found${detail ? ` (${detail})` : ''}. ` +
        'Check the path, or create the table first (e.g. `lakelet write <table> --from <file>`).',
    );
  }
}

/** The log is internally inconsistent (gap in versions, missing protocol/metaData, unparsable action). */
export class CorruptLogError extends LakeletError {
  constructor(readonly tablePath: string, message: string, options?: { cause?: unknown; version?: number }) {
    super('CORRUPT_LOG', `${tablePath}: ${message}`, options);
    this.version = options?.version;
  }
  readonly version: number | undefined;
}

/** The table needs a reader/writer version or feature that lakelet does not implement. */
export class ProtocolError extends LakeletError {
  constructor(readonly tablePath: string, message: string, readonly feature?: string) {
    super('UNSUPPORTED_PROTOCOL', `${tablePath}: ${message}`);
  }
}

/** A data or deletion-vector file referenced by the log is missing or unreadable. */
export class MissingFileError extends LakeletError {
  constructor(readonly tablePath: string, readonly filePath: string, readonly version: number, cause?: unknown) {
    super(
      'MISSING_FILE',
      `${tablePath}: file ${filePath} referenced by version ${version} is missing or unreadable. ` +
        'It may have been vacuumed or deleted by hand; read an older version with --version, or restore the file.',
      { cause },
    );
  }
}

/** A data file the log references is there but cannot be decoded (truncated, overwritten, not Parquet). */
export class DamagedFileError extends LakeletError {
  constructor(readonly tablePath: string, readonly filePath: string, readonly version: number, reason: string, cause?: unknown) {
    super(
      'DAMAGED_FILE',
      `${tablePath}: data file ${filePath} referenced by version ${version} is damaged and cannot be read (${reason}). ` +
        'Restore the file from a backup or copy, or read an older version that does not include it with --version.',
      { cause },
    );
  }
}

/** The caller's input (a batch, a file, a predicate, an option) is not acceptable. */

/** A batch's schema does not fit the table's schema. */
export class SchemaMismatchError extends LakeletError {
  constructor(readonly tablePath: string, message: string) {
    super('SCHEMA_MISMATCH', `${tablePath}: ${message}`);
  }
}

/** Time travel asked for a version or timestamp the table does not have. */
export class VersionNotFoundError extends LakeletError {
  constructor(readonly tablePath: string, message: string) {
    super('VERSION_NOT_FOUND', `${tablePath}: ${message}`);
  }
}

export type ConflictKind =
  | 'concurrent-append'
  | 'concurrent-delete-read'
  | 'concurrent-delete-delete'
  | 'metadata-changed'
  | 'protocol-changed'
  | 'concurrent-transaction'
  | 'too-many-retries';

/** Optimistic concurrency lost: a concurrent commit conflicts logically with ours. */
export class CommitConflictError extends LakeletError {
  constructor(
    readonly tablePath: string,
    readonly kind: ConflictKind,
    readonly attemptedVersion: number,
    detail: string,
  ) {
    super(
      'COMMIT_CONFLICT',
      `${tablePath}: commit at version ${attemptedVersion} conflicts with a concurrent commit (${kind}): ${detail}. ` +
        'Re-read the table and run the operation again.',
    );
  }
}

/** A write violates a NOT NULL or CHECK constraint. */
export class ConstraintViolationError extends LakeletError {
  constructor(readonly tablePath: string, readonly constraint: string, message: string) {
    super('CONSTRAINT_VIOLATION', `${tablePath}: ${message}`);
  }
}

/** VACUUM was asked to keep less history than the table's retention, without an explicit override. */
export class RetentionTooShortError extends LakeletError {
  constructor(readonly tablePath: string, readonly requestedMs: number, readonly configuredMs: number) {
    super(
      'RETENTION_TOO_SHORT',
      `${tablePath}: refusing to vacuum with a retention of ${formatDuration(requestedMs)}, shorter than the table's ` +
        `${formatDuration(configuredMs)} (delta.deletedFileRetentionDuration). Files removed within that window may still be ` +
        'needed by readers and time travel. Keep the default retention, or disable the check explicitly (--force / retentionCheck(false)).',
    );
  }
}

/** Change data was asked for versions where the change data feed was not enabled. */
export class ChangeDataFeedError extends LakeletError {
  constructor(readonly tablePath: string, readonly version: number, detail: string) {
    super('CDF_NOT_ENABLED', `${tablePath}: ${detail}`);
  }
}

function formatDuration(ms: number): string {
  const hours = ms / 3_600_000;
  return Number.isInteger(hours) ? `${hours} hours` : `${ms} ms`;
}
