import { LakeletError } from '../../../errors/lakelet-error.ts';

/**
 * The Cloud Storage client's failures as one typed error that names the object (gs://bucket/name),
 * the operation, the HTTP status or network code, and what to do. `transient` marks the ones worth
 * retrying (429, 408, 5xx, connection reset, timeouts); the retry helper (adapters/retry.ts) acts on
 * nothing else. Precondition failures (412) and missing objects (404) never become a GcsError: the
 * store turns them into answers (putIfAbsent false, ObjectNotFoundError, head undefined) first.
 */
export class GcsError extends LakeletError {
  constructor(
    /** 'read', 'write', 'list', 'delete', 'copy', 'head'. */
    readonly operation: string,
    /** gs://bucket/name (or gs://bucket/prefix for a listing). */
    readonly target: string,
    /** The HTTP status, when the server answered. */
    readonly status: number | undefined,
    /** The network error code (ECONNRESET, ETIMEDOUT, ...), when it did not. */
    readonly netCode: string | undefined,
    options: { cause?: unknown; transient: boolean; endpoint: string },
  ) {
    const what = status !== undefined ? `HTTP ${status}` : (netCode ?? 'an unknown error');
    const detail = causeMessage(options.cause);
    super(
      'GCS',
      `Cloud Storage ${operation} of ${target} failed with ${what}${detail ? ` (${detail})` : ''}: ${todo(status, netCode, options.transient, options.endpoint, target)}`,
      { cause: options.cause, transient: options.transient },
    );
  }
}

function todo(status: number | undefined, netCode: string | undefined, transient: boolean, endpoint: string, target: string): string {
  const bucket = /^gs:\/\/([^/]+)/.exec(target)?.[1] ?? target;
  if (transient) {
    return 'a transient failure (the service is busy or the connection dropped), already retried with backoff; run again later. Nothing already committed is lost.';
  }
  if (status === 401 || status === 403) {
    return (
      `the credentials were refused. lakelet uses Application Default Credentials: run 'gcloud auth application-default login' ` +
      `or set GOOGLE_APPLICATION_CREDENTIALS, and give that account a Storage Object role on bucket ${bucket}.`
    );
  }
  if (status === 404) return `bucket ${bucket} does not exist (or is not visible to these credentials): create it, or fix the gs:// location.`;
  if (netCode === 'ECONNREFUSED' || netCode === 'ENOTFOUND') {
    return `nothing answers at ${endpoint}: check STORAGE_EMULATOR_HOST (for an emulator) or the network, then run again.`;
  }
  return 'check the location and the credentials, then run again.';
}

function causeMessage(cause: unknown): string {
  const msg = cause instanceof Error ? cause.message : typeof cause === 'string' ? cause : '';
  // The client's messages can carry a whole HTML page; a line is enough.
  const line = msg.split('\n')[0]?.trim() ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

/** The HTTP status of a client error, if the server answered. */
export function httpStatus(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; status?: unknown; response?: { status?: unknown } };
  if (typeof e.code === 'number') return e.code;
  if (typeof e.status === 'number') return e.status;
  if (typeof e.response?.status === 'number') return e.response.status;
  return undefined;
}

/** The network error code (ECONNRESET, ...) of a client error, looking through `cause`s. */
export function networkCode(err: unknown): string | undefined {
  for (let e = err, depth = 0; typeof e === 'object' && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z_]+$|^UND_ERR/.test(code)) return code;
    if (e instanceof Error && /socket hang up/i.test(e.message)) return 'ECONNRESET';
  }
  return undefined;
}

const TRANSIENT_NET = new Set(['ECONNRESET', 'ETIMEDOUT', 'ESOCKETTIMEDOUT', 'EPIPE', 'ECONNABORTED', 'EAI_AGAIN', 'UND_ERR_SOCKET']);

/** 408, 429 and 5xx, dropped connections and timeouts: the same call may succeed later. */
export function isTransientFailure(status: number | undefined, netCode: string | undefined, err: unknown): boolean {
  if (status !== undefined) return status === 408 || status === 429 || (status >= 500 && status <= 599);
  if (netCode !== undefined) return TRANSIENT_NET.has(netCode);
  // A download whose checksum did not match what the server declared: fetch it again.
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'CONTENT_DOWNLOAD_MISMATCH') return true;
  return err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError');
}

/** A client error as a GcsError (transient or not). */
export function toGcsError(err: unknown, operation: string, target: string, endpoint: string): GcsError {
  const status = httpStatus(err);
  const netCode = status === undefined ? networkCode(err) : undefined;
  return new GcsError(operation, target, status, netCode, { cause: err, transient: isTransientFailure(status, netCode, err), endpoint });
}
