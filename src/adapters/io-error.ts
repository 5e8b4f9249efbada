import { LakeletError } from '../errors/lakelet-error.ts';

/**
 * Operating-system I/O failures (disk full, permissions, read-only filesystem, too many open files)
 * as one typed error that names the file or folder and says what to do. Raised at the adapter
 * boundary (the object store, DuckDB) so that every command reports them the same way instead of
 * a bare `ENOSPC: no space left on device, write`.
 */
export type IoErrno = 'ENOSPC' | 'EDQUOT' | 'EACCES' | 'EPERM' | 'EROFS' | 'EMFILE' | 'ENFILE' | 'EIO' | 'ENOTDIR';

const WHAT: Record<IoErrno, { what: string; todo: string }> = {
  ENOSPC: { what: 'no space left on device', todo: 'free space on that disk (or move the folder to a bigger one in lakelet.yml), then run again' },
  EDQUOT: { what: 'disk quota exceeded', todo: 'free space or raise the quota, then run again' },
  EACCES: { what: 'permission denied', todo: 'check the owner and permissions of the folder (ls -ld), then run again' },
  EPERM: { what: 'operation not permitted', todo: 'check the owner and permissions of the folder (ls -ld), then run again' },
  EROFS: { what: 'read-only filesystem', todo: 'remount it read-write or use a folder on a writable disk, then run again' },
  EMFILE: { what: 'too many open files', todo: 'raise the limit (ulimit -n) or make batches smaller (batch.maxFiles), then run again' },
  ENFILE: { what: 'too many open files in the system', todo: 'close other programs or raise the system limit, then run again' },
  EIO: { what: 'input/output error', todo: 'the disk reported a hardware or filesystem error; check it (dmesg, fsck) before running again' },
  ENOTDIR: { what: 'a part of the path is a file, not a folder', todo: 'remove or rename that file, or fix the path, then run again' },
};

export class StorageIoError extends LakeletError {
  constructor(
    readonly errno: IoErrno,
    /** The file or folder the operation was on. */
    readonly path: string,
    /** 'write', 'read', 'list', 'delete', 'query'. */
    readonly operation: string,
    options?: { cause?: unknown },
  ) {
    const w = WHAT[errno];
    // Out of file handles or a device error may pass; a full disk or a permission does not by itself.
    super('STORAGE_IO', `${w.what} (${errno}) on ${operation} of ${path}: ${w.todo}. Nothing already committed is lost.`, { ...options, transient: TRANSIENT.has(errno) });
  }
}

const TRANSIENT = new Set<IoErrno>(['EMFILE', 'ENFILE', 'EIO']);

export function isIoErrno(code: unknown): code is IoErrno {
  return typeof code === 'string' && Object.hasOwn(WHAT, code);
}

/** `err` as a StorageIoError when it is one of the I/O failures above, otherwise `err` itself. */
export function asIoError(err: unknown, path: string, operation: string): unknown {
  if (err instanceof StorageIoError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (isIoErrno(code)) return new StorageIoError(code, (err as NodeJS.ErrnoException).path ?? path, operation, { cause: err });
  return err;
}

/** DuckDB reports OS errors as text (`IO Error: Could not write file "x": No space left on device`). */
const DUCKDB_TEXT: [RegExp, IoErrno][] = [
  [/No space left on device/i, 'ENOSPC'],
  [/Disk quota exceeded/i, 'EDQUOT'],
  [/Read-only file system/i, 'EROFS'],
  [/Permission denied/i, 'EACCES'],
  [/Too many open files in system/i, 'ENFILE'],
  [/Too many open files/i, 'EMFILE'],
  [/Input\/output error/i, 'EIO'],
];

/** A DuckDB error that is really an OS I/O failure, as a StorageIoError naming the file; otherwise `err`. */
export function duckDbIoError(err: unknown): unknown {
  if (!(err instanceof Error) || !/IO Error/i.test(err.message)) return err;
  const hit = DUCKDB_TEXT.find(([re]) => re.test(err.message));
  if (!hit) return err;
  const file = /"([^"]+)"/.exec(err.message)?.[1] ?? /'([^']+)'/.exec(err.message)?.[1] ?? 'a file DuckDB was writing';
  return new StorageIoError(hit[1], file, 'query', { cause: err });
}
