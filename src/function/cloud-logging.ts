import { noProgress, type Level, type Reporter } from '../pipeline/reporter.ts';

/**
 * Log lines for Cloud Logging: one JSON object per line on stdout, which Cloud Run functions turn
 * into a structured entry (`severity` and `message` are the fields it reads; the rest lands in
 * jsonPayload, so a query like `jsonPayload.pipeline="accounts"` finds a pipeline's lines).
 */
export type Severity = 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR';

export interface CloudLog {
  write(severity: Severity, message: string, fields?: Record<string, unknown>): void;
  /** The same log with these fields on every line (the event id and object of one delivery). */
  with(fields: Record<string, unknown>): CloudLog;
}

const SEVERITY: Record<Level, Severity> = { debug: 'DEBUG', info: 'INFO', warn: 'WARNING', error: 'ERROR' };

export function cloudLog(out: (line: string) => void = (line) => process.stdout.write(line), base: Record<string, unknown> = {}): CloudLog {
  return {
    write(severity, message, fields = {}) {
      out(JSON.stringify({ severity, message, time: new Date().toISOString(), ...base, ...fields }) + '\n');
    },
    with(fields) {
      return cloudLog(out, { ...base, ...fields });
    },
  };
}

/** The pipeline's events as log lines: the event name and its fields as the message, the fields as the payload. */
export function cloudLogReporter(log: CloudLog): Reporter {
  return {
    event(level, event, fields = {}) {
      const detail = Object.entries(fields)
        .filter(([, v]) => v !== undefined && v !== null && v !== '')
        .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`)
        .join(' ');
      log.write(SEVERITY[level], `${event}${detail ? ' ' + detail : ''}`, { event, ...fields });
    },
    progress: () => noProgress,
  };
}
