import { LakeletError } from '../../errors/lakelet-error.ts';

/**
 * A BigQuery job or API call failed. The message names the job (query, load into which table) and
 * BigQuery's own reason; `transient` follows BigQuery's retryable reasons (backendError,
 * rateLimitExceeded, internalError, a 5xx), so the pipeline's retries treat it like a flaky store.
 */
export class BigQueryError extends LakeletError {
  constructor(
    readonly what: string,
    readonly reason: string | undefined,
    readonly errors: { reason?: string; location?: string; message?: string }[],
    options?: { cause?: unknown; transient?: boolean },
  ) {
    const detail = errors.map((e) => `${e.location ? `${e.location}: ` : ''}${e.message ?? e.reason ?? ''}`).filter(Boolean).slice(0, 5).join('; ');
    super('BIGQUERY', `BigQuery ${what} failed${reason ? ` (${reason})` : ''}: ${detail || 'no detail given'}`, options);
  }
}

const TRANSIENT = new Set(['backendError', 'rateLimitExceeded', 'internalError', 'jobBackendError', 'jobInternalError']);

/** A client error (ApiError, a job's error result) as a BigQueryError naming `what`. */
export function bigQueryErrorFrom(err: unknown, what: string): BigQueryError {
  if (err instanceof BigQueryError) return err;
  const e = err as { code?: number; message?: string; errors?: { reason?: string; location?: string; message?: string }[]; response?: { statusCode?: number } };
  const errors = e.errors?.length ? e.errors : [{ message: String(e.message ?? err).split('\n')[0] }];
  const reason = errors.find((x) => x.reason)?.reason;
  const status = e.code ?? e.response?.statusCode;
  const transient = (reason !== undefined && TRANSIENT.has(reason)) || (typeof status === 'number' && status >= 500);
  return new BigQueryError(what, reason, errors, { cause: err, transient });
}
