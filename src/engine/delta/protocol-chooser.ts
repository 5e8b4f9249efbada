import type { Protocol } from './actions.ts';
import type { DataType, StructType } from './schema.ts';
import { isArray, isMap, isStruct } from './schema.ts';

/**
 * The lowest protocol that supports what the table uses, so the most readers can open it:
 * (1,2) for plain tables; legacy versions for CHECK constraints (1,3), change data feed (1,4),
 * column mapping (2,5); table features (3,7) only when a feature has no legacy version
 * (timestamp_ntz, deletion vectors, in-commit timestamps).
 */
export function chooseProtocol(schema: StructType, configuration: Record<string, string>): Protocol {
  const readerFeatures = new Set<string>();
  const writerFeatures = new Set<string>();
  let reader = 1;
  let writer = 2;
  if (Object.keys(configuration).some((k) => k.startsWith('delta.constraints.'))) writer = Math.max(writer, 3);
  if (configuration['delta.enableChangeDataFeed'] === 'true') writer = Math.max(writer, 4);
  const mapping = configuration['delta.columnMapping.mode'];
  if (mapping === 'name' || mapping === 'id') {
    reader = Math.max(reader, 2);
    writer = Math.max(writer, 5);
  }
  if (usesType(schema, 'timestamp_ntz')) {
    readerFeatures.add('timestampNtz');
    writerFeatures.add('timestampNtz');
  }
  if (configuration['delta.enableDeletionVectors'] === 'true') {
    readerFeatures.add('deletionVectors');
    writerFeatures.add('deletionVectors');
  }
  if (configuration['delta.enableInCommitTimestamps'] === 'true') writerFeatures.add('inCommitTimestamp');
  if (readerFeatures.size === 0 && writerFeatures.size === 0) return { minReaderVersion: reader, minWriterVersion: writer };

  // Table features: list every feature the legacy versions would have implied, too.
  const legacyWriter: [number, string][] = [
    [2, 'appendOnly'],
    [2, 'invariants'],
    [3, 'checkConstraints'],
    [4, 'changeDataFeed'],
    [5, 'columnMapping'],
  ];
  for (const [v, f] of legacyWriter) if (writer >= v) writerFeatures.add(f);
  if (reader >= 2) readerFeatures.add('columnMapping');
  const needsReaderFeatures = readerFeatures.size > 0;
  return {
    minReaderVersion: needsReaderFeatures ? 3 : reader,
    minWriterVersion: 7,
    ...(needsReaderFeatures ? { readerFeatures: [...readerFeatures].sort() } : {}),
    writerFeatures: [...writerFeatures].sort(),
  };
}

function usesType(t: DataType, name: string): boolean {
  if (typeof t === 'string') return t === name;
  if (isStruct(t)) return t.fields.some((f) => usesType(f.type, name));
  if (isArray(t)) return usesType(t.elementType, name);
  if (isMap(t)) return usesType(t.keyType, name) || usesType(t.valueType, name);
  return false;
}
