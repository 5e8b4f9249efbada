import type { Compute } from '../adapters/compute/compute.ts';
import type { PipelineConfig } from './config.ts';
import { FileRejectedError, type RejectKind } from './errors.ts';
import type { BadRecord } from './file-reader.ts';
import { badPolicy, badValueRows, type Column, type FilePlan } from './stage-select.ts';

/**
 * Bad records (`badRecords` in lakelet.yml): one bad record does not sink a file. A bad record is
 * an NDJSON line that is not a JSON object, a CSV row with the wrong number of fields, or a record
 * with a value that does not fit its column (a failed cast or epoch transform, a lossy conversion
 * to the stage's type — unless schemaDrift: rescue keeps such values, as it always did).
 *
 *   quarantine-file (default)  the good records load; the bad ones are left out, written to
 *                              quarantine/<batch folder>/<file>.bad-records.ndjson and counted
 *                              in the ingestion log's rows_rejected
 *   rescue                     every record is staged: a value that does not fit is NULL with its
 *                              text in `_rescued_data`; a record that cannot be read at all is a
 *                              row of NULLs with `_rescued_data` = {"_corrupt_record", "_error",
 *                              "_line"} (not merged: it has no key; counted in rows_rejected)
 *   fail-file                  the first bad record quarantines the whole file (the old behaviour)
 *
 * Either way, a file whose share of bad records is above `badRecordsLimit` (default 10%), or that
 * has no good record, is quarantined whole, with how many were bad and the first of them.
 */

/** Where a file's bad records go, beside the batch's quarantined files. */
export function badRecordsKey(folder: string, key: string): string {
  return `${folder}/${key}.bad-records.ndjson`;
}

/**
 * Finds the value-level bad records of a planned file (`valueBad` of them, as checkFileSelect
 * counted), joins them with the ones its reader found, and decides: the plan's `bad`, `rows` and
 * `leftOut` are set, or the whole file is rejected.
 */
export async function settleBadRecords(compute: Compute, pipeline: PipelineConfig, plan: FilePlan, columns: Column[], valueBad: number): Promise<void> {
  const policy = badPolicy(pipeline);
  const unread = plan.raw.bad;
  const total = plan.raw.records + unread.length;
  // More than this many bad records and the file goes whole; one more is enough to say so.
  const allowed = Math.floor(pipeline.badRecordsLimit * total + 1e-9);
  if (unread.length + valueBad === 0) return;
  const values = valueBad > 0 ? await badValueRows(compute, pipeline, plan, columns, Math.max(0, allowed - unread.length) + 1) : { count: 0, rows: [] };
  const badCount = unread.length + values.count;
  let valueRecords: BadRecord[] = [];
  if (values.rows.length > 0) {
    const lines = plan.raw.lines ? await plan.raw.lines() : undefined;
    valueRecords = values.rows.map((r) => ({
      ...(lines ? { line: lines[r.rec] } : { record: r.rec + 1 }),
      kind: 'cast' as RejectKind,
      error: r.error,
      text: r.text,
    }));
  }
  const bad = [...unread, ...valueRecords].sort((a, b) => (a.line ?? a.record ?? 0) - (b.line ?? b.record ?? 0));
  if (badCount > allowed || badCount >= total) {
    const first = bad[0];
    const share = `${badCount} of ${total} records ${badCount === 1 ? 'is' : 'are'} bad`;
    const why = badCount >= total ? `all ${share}` : `${share}, more than badRecordsLimit (${percent(pipeline.badRecordsLimit)})`;
    const message = total === 1 ? `its only record is bad${where(first)}: ${first.error}` : `${why}; the first${where(first)}: ${first.error}`;
    // (Raising badRecordsLimit cannot help a file with no good record.)
    const raise = badCount >= total ? '' : ', or raise badRecordsLimit';
    const hint =
      first.kind === 'cast' && pipeline.badRecords !== 'rescue'
        ? `fix the values${raise}, or use badRecords/schemaDrift: rescue to keep such values in _rescued_data`
        : first.kind === 'cast'
          ? `fix the values${raise}`
          : `fix the records (or the csv/json settings) and land the file again${raise}`;
    throw new FileRejectedError(first.kind, message, first.line !== undefined ? { line: first.line, column: first.column ?? 1 } : undefined, hint);
  }
  const leaveOutValues = policy.valueIsBad && !policy.rescueValues;
  plan.bad = bad;
  plan.leftOut = (policy.leaveOut ? unread.length : 0) + (leaveOutValues ? valueRecords.length : 0);
  plan.rows = plan.raw.records - (leaveOutValues ? valueRecords.length : 0) + (pipeline.badRecords === 'rescue' ? unread.length : 0);
}

/** The bad-records file: one JSON object per bad record, in file order. */
export function badRecordsDocument(file: string, bad: BadRecord[]): string {
  return bad.map((b) => JSON.stringify({ file, ...(b.line !== undefined ? { line: b.line } : {}), ...(b.column !== undefined ? { column: b.column } : {}), ...(b.record !== undefined ? { record: b.record } : {}), kind: b.kind, error: b.error, text: b.text })).join('\n') + '\n';
}

/** One line for the ingestion log and the events: how many, what became of them, the first. */
export function badRecordsSummary(file: string, count: number, leftOut: number, first: BadRecord): string {
  const fate = leftOut > 0 ? `left out (see ${file.split('/').pop()}.bad-records.ndjson in quarantine)` : 'staged with _rescued_data';
  return `${count} bad record${count === 1 ? '' : 's'} ${fate}; the first${where(first)}: ${first.kind}: ${first.error}`;
}

function where(b: BadRecord): string {
  return b.line !== undefined ? ` (line ${b.line})` : b.record !== undefined ? ` (record ${b.record})` : '';
}

function percent(share: number): string {
  return `${Math.round(share * 10000) / 100}%`;
}
