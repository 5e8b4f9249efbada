import type { Action, Metadata } from '../delta/actions.ts';
import type { Snapshot } from '../delta/snapshot.ts';
import type { TableHandle } from '../table-handle.ts';
import type { OperationResult } from './operation-result.ts';
import { chooseProtocol } from '../delta/protocol-chooser.ts';
import { withColumnMapping } from '../delta/column-mapping-assign.ts';
import { commit } from '../delta/transaction.ts';
import { assertSettableOnExisting, normalizeTableProperties } from '../delta/table-properties.ts';
import { mergeProtocols } from './restore.ts';
import { NotATableError } from '../errors.ts';

export interface SetPropertiesMetrics {
  /** Properties whose value changed (new ones included). */
  numPropertiesChanged: number;
  executionTimeMs: number;
}

/**
 * SET TBLPROPERTIES: one metadata-only commit (a new metaData, plus a protocol upgrade when a
 * property needs a feature, e.g. delta.enableChangeDataFeed → writer version 4). No data file is
 * touched. Nothing is committed when every property already has the value asked for, so it can be
 * called at every start of a pipeline. The protocol never goes down.
 */
export class SetPropertiesBuilder {
  constructor(
    private readonly table: TableHandle,
    private readonly props: Record<string, string>,
  ) {}

  async execute(): Promise<OperationResult<SetPropertiesMetrics> & { changed: Record<string, { from?: string; to: string }> }> {
    const started = Date.now();
    const ctx = this.table.ctx;
    const wanted = normalizeTableProperties(ctx.uri, this.props);
    const existing = await this.table.tryLatest();
    if (!existing) throw new NotATableError(ctx.uri);
    const changed = diff(existing, wanted);
    const metrics = (n: number): SetPropertiesMetrics => ({ numPropertiesChanged: n, executionTimeMs: Date.now() - started });
    if (Object.keys(changed).length === 0) {
      return { version: existing.version, snapshot: existing, metrics: metrics(0), skipped: 'every property already has that value', changed };
    }
    assertSettableOnExisting(ctx.uri, wanted, existing.configuration);
    // Column mapping turned on (mode name): every field gets an id and its own name as physical name.
    const mapped = withColumnMapping(existing.metadata, existing.schema, { ...existing.configuration, ...wanted }, () => ctx.ids.uuid());
    const metadata: Metadata = { ...existing.metadata, configuration: mapped.configuration, ...(mapped.changed ? { schemaString: JSON.stringify(mapped.schema) } : {}) };
    const actions: Action[] = [{ metaData: metadata }];
    const protocol = mergeProtocols(existing.protocol, chooseProtocol(mapped.schema, metadata.configuration));
    if (JSON.stringify(protocol) !== JSON.stringify(sorted(existing.protocol))) actions.push({ protocol });
    const result = await commit(ctx, {
      read: existing,
      actions,
      operation: 'SET TBLPROPERTIES',
      operationParameters: { properties: JSON.stringify(Object.fromEntries(Object.keys(changed).map((k) => [k, wanted[k]]))) },
    });
    return { version: result.version, snapshot: result.snapshot, metrics: metrics(Object.keys(changed).length), changed };
  }
}

function diff(snapshot: Snapshot, wanted: Record<string, string>): Record<string, { from?: string; to: string }> {
  const out: Record<string, { from?: string; to: string }> = {};
  for (const [k, v] of Object.entries(wanted)) {
    const from = snapshot.configuration[k];
    if (from !== v) out[k] = from === undefined ? { to: v } : { from, to: v };
  }
  return out;
}

function sorted(p: Snapshot['protocol']): Snapshot['protocol'] {
  return {
    minReaderVersion: p.minReaderVersion,
    minWriterVersion: p.minWriterVersion,
    ...(p.readerFeatures ? { readerFeatures: [...p.readerFeatures].sort() } : {}),
    ...(p.writerFeatures ? { writerFeatures: [...p.writerFeatures].sort() } : {}),
  };
}
