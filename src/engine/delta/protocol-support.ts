import type { Protocol } from './actions.ts';
import { ProtocolError } from '../errors.ts';

/** Reader features lakelet implements when scanning. */
export const SUPPORTED_READER_FEATURES = new Set([
  'columnMapping',
  'deletionVectors',
  'timestampNtz',
  'v2Checkpoint',
  'vacuumProtocolCheck',
  'typeWidening',
  'typeWidening-preview',
]);

/**
 * Writer features lakelet honours when writing. A table that needs a writer feature outside this
 * set can be read but not written (a writer that ignores, say, identity columns would corrupt it).
 */
export const SUPPORTED_WRITER_FEATURES = new Set([
  'appendOnly',
  'invariants',
  'checkConstraints',
  'changeDataFeed',
  'columnMapping',
  'deletionVectors',
  'timestampNtz',
  'domainMetadata',
  'vacuumProtocolCheck',
  'v2Checkpoint',
  'inCommitTimestamp',
  'typeWidening',
]);

export const MAX_READER_VERSION = 3;
export const MAX_WRITER_VERSION = 7;

export function assertReadable(tablePath: string, protocol: Protocol): void {
  if (protocol.minReaderVersion > MAX_READER_VERSION) {
    throw new ProtocolError(
      tablePath,
      `table requires reader version ${protocol.minReaderVersion}; lakelet supports up to ${MAX_READER_VERSION}. ` +
        'Upgrade lakelet or read the table with a newer Delta engine.',
    );
  }
  if (protocol.minReaderVersion === 3) {
    for (const feature of protocol.readerFeatures ?? []) {
      if (!SUPPORTED_READER_FEATURES.has(feature)) {
        throw new ProtocolError(
          tablePath,
          `table uses reader feature '${feature}', which lakelet does not support. ` +
            'Read it with an engine that supports the feature, or drop the feature from the table.',
          feature,
        );
      }
    }
  }
}

export function assertWritable(tablePath: string, protocol: Protocol): void {
  assertReadable(tablePath, protocol);
  if (protocol.minWriterVersion > MAX_WRITER_VERSION) {
    throw new ProtocolError(
      tablePath,
      `table requires writer version ${protocol.minWriterVersion}; lakelet supports up to ${MAX_WRITER_VERSION}.`,
    );
  }
  if (protocol.minWriterVersion === 7) {
    for (const feature of protocol.writerFeatures ?? []) {
      if (!SUPPORTED_WRITER_FEATURES.has(feature)) {
        throw new ProtocolError(
          tablePath,
          `table uses writer feature '${feature}', which lakelet cannot write safely. The table can still be read.`,
          feature,
        );
      }
    }
  } else if (protocol.minWriterVersion >= 4 && protocol.minWriterVersion < 7) {
    // Legacy writer versions 4-6 imply generated columns (4) and identity columns (6), which
    // lakelet checks only when the schema actually uses them (see writer), so they are allowed here.
  }
}
