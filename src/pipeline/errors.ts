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
  /**
   * Not the definition's fault but the caller's: a file that is not there, a profile the file does
   * not define. The command line reports such an error as wrong usage (exit code 2).
   */
  usage?: true;
}

/** The pipeline definition (lakelet.yml) is unreadable or invalid, or was asked for something it lacks. */
export class ConfigError extends LakeletError {
  /** Every issue is the caller's (see ConfigIssue.usage): the file itself may be fine. */
  readonly usage: boolean;
  constructor(readonly file: string, readonly issues: ConfigIssue[]) {
    const usage = issues.length > 0 && issues.every((i) => i.usage);
    const where = (i: ConfigIssue) => `${i.position ? `${i.position.line}:${i.position.column} ` : ''}${i.path || '(root)'}: `;
    super('PIPELINE_CONFIG', `${file}: ${usage ? '' : 'invalid pipeline definition: '}` + issues.map((i) => `${usage ? '' : where(i)}${i.message}`).join('; '));
    this.usage = usage;
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
