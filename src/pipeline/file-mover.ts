import { createHash } from 'node:crypto';
import type { ObjectStore } from '../adapters/storage/object-store.ts';
import { PipelineStateError } from './errors.ts';

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** `<yyyy>/<mm>/<dd>/<yyyymmddThhmmssSSSZ>-<id>` in UTC: a batch's folder under archive/ and quarantine/. */
export function batchFolder(now: number, id: string): string {
  const iso = new Date(now).toISOString(); // 2024-05-01T12:34:56.789Z
  const [y, m, d] = [iso.slice(0, 4), iso.slice(5, 7), iso.slice(8, 10)];
  const stamp = iso.replace(/[-:]/g, '').replace('.', '');
  return `${y}/${m}/${d}/${stamp}-${id}`;
}

export type MoveResult = 'moved' | 'copied' | 'already-moved' | 'missing' | 'changed';

/**
 * Moves a landed file to `to/toKey` exactly once, never overwriting: create-only at the
 * destination (an existing destination must hold the same bytes: a move a crash interrupted),
 * then delete the source. A source whose bytes changed since the batch was planned is left alone
 * (a new delivery under the same name; the next batch takes it). `keepSource` copies instead.
 */
export async function moveOnce(from: ObjectStore, key: string, to: ObjectStore, toKey: string, expectedSha: string, pipeline: string, keepSource = false): Promise<MoveResult> {
  const head = await from.head(key);
  if (!head) return (await to.head(toKey)) ? 'already-moved' : 'missing';
  const data = await from.get(key);
  if (sha256(data) !== expectedSha) {
    if (await to.head(toKey)) return 'already-moved';
    return 'changed';
  }
  const created = await to.putIfAbsent(toKey, data);
  if (!created) {
    const existing = await to.get(toKey);
    if (sha256(existing) !== expectedSha) {
      throw new PipelineStateError(pipeline, `${to.uri}/${toKey} already exists with other content; refusing to overwrite it (the landed file stays in ${from.uri}/${key}).`);
    }
  }
  if (keepSource) return 'copied';
  await from.delete(key);
  return 'moved';
}
