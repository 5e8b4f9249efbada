import type { ObjectStore } from '../../adapters/storage/object-store.ts';
import { openStore } from '../../adapters/storage/open-store.ts';
import { badRecordsKey } from '../../pipeline/bad-records.ts';
import { BatchState } from '../../pipeline/batch-state.ts';
import type { UiWorkspace } from './workspace.ts';

/**
 * One landed file's lifecycle: its ingestion-log rows (oldest first) and, for each batch that took
 * it, what the batch manifest planned, plus — when it was quarantined — its error report and the
 * first bad records, read from the quarantine folder at the keys the manifest gives. The request
 * names a pipeline and a file; only files a manifest lists are read, so no request path reaches
 * the store.
 */
const BAD_RECORDS_BYTES = 64 * 1024;
const BAD_RECORDS_SHOWN = 20;

export async function fileDetail(ws: UiWorkspace, pipelineName: string, file: string): Promise<Record<string, unknown>> {
  const p = ws.pipeline(pipelineName);
  const history = await ws.reader.logPage({ pipeline: p.name, file, limit: 200, offset: 0, oldestFirst: true });
  const state = new BatchState(p.name, p.stateDir);
  await state.load();
  const quarantine = openStore(p.quarantine);
  const batches = [];
  let stillQuarantined: string | undefined;
  for (const { manifest, done } of state.all()) {
    const f = manifest.files.find((x) => x.key === file);
    if (!f) continue;
    const inQuarantine = `${manifest.folder}/${f.key}`;
    const quarantined = f.outcome === 'quarantine';
    const present = quarantined ? (await quarantine.head(inQuarantine)) !== undefined : false;
    if (present) stillQuarantined = `${quarantine.uri}/${inQuarantine}`;
    batches.push({
      batch: manifest.seq,
      plannedAt: new Date(manifest.createdAt).toISOString(),
      finishedAt: done ? new Date(done.finishedAt).toISOString() : null,
      landedAt: new Date(f.mtime).toISOString(),
      outcome: f.outcome,
      size: f.size,
      sha256: f.sha256,
      records: f.records ?? null,
      error: f.error ?? null,
      bad: f.bad ?? null,
      duplicateOf: f.duplicateOf ?? null,
      replaced: f.replaced ?? null,
      stageVersion: done?.stageVersion ?? null,
      targetVersion: done?.targetVersion ?? null,
      ...(quarantined
        ? {
            quarantine: {
              location: `${quarantine.uri}/${inQuarantine}`,
              stillThere: present,
              errorReport: await jsonObject(quarantine, `${inQuarantine}.error.json`),
            },
          }
        : {}),
      badRecords: f.bad && f.bad.leftOut > 0 ? await badRecordsHead(quarantine, badRecordsKey(manifest.folder, f.key)) : null,
    });
  }
  return {
    pipeline: p.name,
    file,
    history,
    batches,
    ...(stillQuarantined ? { requeue: { location: stillQuarantined, command: `lakelet requeue -c ${ws.config.file} -p ${p.name} ${file}` } } : {}),
  };
}

async function jsonObject(store: ObjectStore, key: string): Promise<unknown> {
  if (!(await store.head(key))) return null;
  try {
    return JSON.parse(new TextDecoder().decode(await store.get(key)));
  } catch {
    return null;
  }
}

/** The first bad records of a `.bad-records.ndjson` (read by range: the file may be large). */
async function badRecordsHead(store: ObjectStore, key: string): Promise<{ location: string; size: number; records: unknown[]; truncated: boolean } | null> {
  const meta = await store.head(key);
  if (!meta) return null;
  const text = new TextDecoder().decode(await store.getRange(key, 0, Math.min(meta.size, BAD_RECORDS_BYTES)));
  const lines = text.split('\n');
  if (meta.size > BAD_RECORDS_BYTES) lines.pop(); // cut mid-record
  const records = lines.filter((l) => l.trim()).slice(0, BAD_RECORDS_SHOWN).map((l) => {
    try {
      return JSON.parse(l) as unknown;
    } catch {
      return { text: l };
    }
  });
  return { location: `${store.uri}/${key}`, size: meta.size, records, truncated: meta.size > BAD_RECORDS_BYTES || lines.filter((l) => l.trim()).length > BAD_RECORDS_SHOWN };
}
