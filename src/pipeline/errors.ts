import { LakeletError } from '../errors/lakelet-error.ts';

/** Where in a text file something is wrong (1-based line and column). */
export interface TextPosition {
  line: number;
  column: number;
}

/** One problem in a pipeline definition: the key path, and where it is in the YAML file. */
export interface ConfigIssue {
  path: string;
  message: string;
  position?: TextPosition;
}

/** The pipeline definition (lakelet.yml) is unreadable or invalid. */
export class ConfigError extends LakeletError {
  constructor(readonly file: string, readonly issues: ConfigIssue[]) {
    super(
      'PIPELINE_CONFIG',
      `${file}: invalid pipeline definition: ` +
        issues.map((i) => `${i.position ? `${i.position.line}:${i.position.column} ` : ''}${i.path || '(root)'}: ${i.message}`).join('; '),
    );
  }
}

/** Why a landed file cannot be loaded; it goes to quarantine with this as its `.error.json`. */
export type RejectKind = 'empty' | 'incomplete' | 'encoding' | 'csv' | 'json' | 'parquet' | 'schema' | 'cast' | 'read';

export class FileRejectedError extends LakeletError {
  constructor(
    readonly kind: RejectKind,
    readonly detail: string,
    readonly position?: TextPosition,
    readonly hint?: string,
  ) {
    super('FILE_REJECTED', `${kind} error${position ? ` at line ${position.line}, column ${position.column}` : ''}: ${detail}${hint ? ` (${hint})` : ''}`);
  }
}

/** Another process holds the pipeline's lock. */
export class PipelineBusyError extends LakeletError {
  constructor(readonly pipeline: string, readonly pid: number, lockFile: string) {
    super(
      'PIPELINE_BUSY',
      `pipeline '${pipeline}' is being run by process ${pid} (lock ${lockFile}). Wait for it to finish, or stop it; a lock left by a dead process is taken over automatically.`,
    );
  }
}

/** The pipeline's state (batch manifests) disagrees with the files or tables it describes. */
export class PipelineStateError extends LakeletError {
  constructor(readonly pipeline: string, message: string) {
    super('PIPELINE_STATE', `pipeline '${pipeline}': ${message}`);
  }
}
