import type { Protocol } from '../delta/actions.ts';
import type { StructType } from '../delta/schema.ts';
import { chooseProtocol } from '../delta/protocol-chooser.ts';
import { mergeProtocols } from './restore.ts';

/**
 * The protocol action a metadata change of an existing table needs, if any. Versions only go up.
 * Column mapping turned on for an existing table is added the way PROTOCOL.md asks: on a legacy
 * protocol by raising it to reader 2 / writer 5; on a table that already uses table features by
 * adding `columnMapping` to both feature lists (raising the versions alone would drop its features).
 */
export function protocolUpgrade(existing: Protocol, schema: StructType, configuration: Record<string, string>): Protocol | undefined {
  const wanted = chooseProtocol(schema, configuration);
  const mode = configuration['delta.columnMapping.mode'];
  if ((mode === 'name' || mode === 'id') && !supportsColumnMapping(existing)) {
    const legacy = existing.minWriterVersion < 7 && existing.minReaderVersion < 3;
    return mergeProtocols(existing, legacy ? wanted : COLUMN_MAPPING_FEATURES);
  }
  if (wanted.minReaderVersion > existing.minReaderVersion || wanted.minWriterVersion > existing.minWriterVersion) return wanted;
  return undefined;
}

const COLUMN_MAPPING_FEATURES: Protocol = { minReaderVersion: 3, minWriterVersion: 7, readerFeatures: ['columnMapping'], writerFeatures: ['columnMapping'] };

function supportsColumnMapping(p: Protocol): boolean {
  const reader = p.minReaderVersion === 3 ? (p.readerFeatures ?? []).includes('columnMapping') : p.minReaderVersion >= 2;
  const writer = p.minWriterVersion === 7 ? (p.writerFeatures ?? []).includes('columnMapping') : p.minWriterVersion >= 5;
  return reader && writer;
}
