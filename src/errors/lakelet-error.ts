/**
 * The root of lakelet's typed errors, below every layer so that adapters, engine, warehouse,
 * pipeline and CLI share one hierarchy. Every message says what happened, to which
 * table/file/version, and what to do. `code` is stable and machine-readable; `transient` says that
 * the same call may succeed if retried (a busy or flaky remote store), which retries use.
 */
export class LakeletError extends Error {
  readonly code: string;
  readonly transient: boolean;
  constructor(code: string, message: string, options?: { cause?: unknown; transient?: boolean }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.transient = options?.transient ?? false;
    this.name = new.target.name;
  }
}

/** The user's input (an argument, a path, an option value) cannot be used as given. */
export class InputError extends LakeletError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INPUT', message, options);
  }
}

/**
 * A failure of the user's SQL or source as an InputError with `message`; a typed lakelet error
 * (a full disk, a missing file, a conflict) passes through as itself, so it keeps its own code and
 * exit status rather than being blamed on the input.
 */
export function inputErrorFrom(err: unknown, message: (detail: string) => string): Error {
  if (err instanceof LakeletError) return err;
  const detail = String((err as Error)?.message ?? err).split('\n')[0];
  return new InputError(message(detail), { cause: err });
}
