import { crc32 } from 'node:zlib';
import type { DeletionVectorDescriptor } from './actions.ts';
import type { ObjectStore } from '../../adapters/storage/object-store.ts';
import { ObjectNotFoundError } from '../../adapters/storage/object-store.ts';
import { CorruptLogError, MissingFileError, ProtocolError } from '../errors.ts';
import { decodeRoaringTreemap, encodeRoaringTreemap } from './roaring-bitmap.ts';
import { uuidToString, z85Decode, z85Encode } from './z85.ts';

/**
 * Deletion vectors (the "deletionVectors" reader feature): which row indexes of a data file are
 * logically deleted. The payload is magic + RoaringTreemap (roaring-bitmap.ts), stored inline in
 * the log as Z85 ('i') or in a DV file ('u' = UUID name relative to the table, 'p' = absolute path).
 *
 * A DV file is: 1 version byte (1), then per DV a big-endian uint32 size, the payload, and a
 * big-endian CRC-32 of the payload. A descriptor's `offset` points at the size field.
 */

export interface DvContext {
  tablePath: string;
  /** The version whose log entry referenced the DV; named in errors. */
  version: number;
}

const DV_FILE_VERSION = 1;
/** A 'u' descriptor ends with a UUID in Z85: 16 bytes -> 20 characters. */
const UUID_Z85_LENGTH = 20;
/** Below this offset one read from byte 0 (version byte + DV) is cheaper than two requests. */
const SINGLE_READ_MAX_OFFSET = 64 * 1024;

/** The DV's identity in log replay: `<storageType><pathOrInlineDv>[@<offset>]` (PROTOCOL.md). */
export function deletionVectorUniqueId(dv: DeletionVectorDescriptor): string {
  return `${dv.storageType}${dv.pathOrInlineDv}${dv.offset != null ? `@${dv.offset}` : ''}`;
}

/**
 * The store key (relative to the table root) of a file-based DV, or undefined for inline DVs.
 * Vacuum needs this too, to keep DV files that live snapshots still reference.
 */
export function deletionVectorKey(store: ObjectStore, dv: DeletionVectorDescriptor, ctx: DvContext): string | undefined {
  if (dv.storageType === 'i') return undefined;
  if (dv.storageType === 'u') {
    const text = dv.pathOrInlineDv;
    if (text.length < UUID_Z85_LENGTH) {
      throw corrupt(ctx, `deletion vector ${JSON.stringify(text)} is shorter than a ${UUID_Z85_LENGTH}-character Z85 UUID`);
    }
    const prefix = text.slice(0, text.length - UUID_Z85_LENGTH);
    let uuid: string;
    try {
      uuid = uuidToString(z85Decode(text.slice(prefix.length)));
    } catch (err) {
      throw corrupt(ctx, `deletion vector ${JSON.stringify(text)} does not end in a Z85 UUID`, err);
    }
    const name = `deletion_vector_${uuid}.bin`;
    return prefix ? `${prefix}/${name}` : name;
  }
  if (dv.storageType === 'p') return keyUnderRoot(store, dv.pathOrInlineDv, ctx);
  throw corrupt(ctx, `unknown deletion vector storageType ${JSON.stringify(dv.storageType)}`);
}

/**
 * An absolute DV path is only readable when it lies under the table root, since every read goes
 * through the table's store. Both sides are compared URI-decoded, with `file:` spellings unified.
 */
function keyUnderRoot(store: ObjectStore, absolute: string, ctx: DvContext): string {
  const norm = (uri: string): string => {
    let p = uri.replace(/^file:(\/\/)?/, '');
    try {
      p = decodeURIComponent(p);
    } catch {
      // Not percent-encoded after all: compare as written.
    }
    return p.replace(/\/+$/, '');
  };
  const root = norm(store.uri);
  const path = norm(absolute);
  if (!path.startsWith(`${root}/`)) {
    throw new ProtocolError(
      ctx.tablePath,
      `deletion vector ${absolute} (version ${ctx.version}) lies outside the table root ${store.uri}; ` +
        'lakelet reads deletion vectors only from inside the table. Copy the file under the table root, or rewrite the table.',
      'deletionVectors',
    );
  }
  return path.slice(root.length + 1);
}

/** Reads a DV and returns its deleted row indexes, sorted ascending, checked against `cardinality`. */
export async function readDeletionVector(store: ObjectStore, dv: DeletionVectorDescriptor, context: DvContext): Promise<number[]> {
  let payload: Uint8Array;
  let where: string;
  if (dv.storageType === 'i') {
    where = 'inline deletion vector';
    try {
      // Inline data has no size/CRC framing; Z85 padded it to 4 bytes, `sizeInBytes` is the truth.
      payload = z85Decode(dv.pathOrInlineDv, dv.sizeInBytes);
    } catch (err) {
      throw corrupt(context, `${where} is not valid Z85 of ${dv.sizeInBytes} bytes`, err);
    }
  } else {
    const key = deletionVectorKey(store, dv, context)!;
    where = `deletion vector file ${key}${dv.offset != null ? ` at offset ${dv.offset}` : ''}`;
    payload = await readFramedPayload(store, key, dv, context, where);
  }

  let rows: number[];
  try {
    rows = decodeRoaringTreemap(payload);
  } catch (err) {
    throw corrupt(context, `${where}: ${(err as Error).message}`, err);
  }
  if (rows.length !== dv.cardinality) {
    throw corrupt(context, `${where} holds ${rows.length} row indexes but its descriptor says cardinality ${dv.cardinality}`);
  }
  return rows;
}

/** Reads the size-framed, CRC-checked payload of one DV inside a DV file. */
async function readFramedPayload(
  store: ObjectStore,
  key: string,
  dv: DeletionVectorDescriptor,
  ctx: DvContext,
  where: string,
): Promise<Uint8Array> {
  // PROTOCOL.md: offset is "interpreted as 0 if absent", but byte 0 is the version; Spark always
  // writes the offset and the first DV starts right after the version byte, so absent means 1.
  const offset = dv.offset ?? 1;
  const frameLength = 4 + dv.sizeInBytes + 4;
  if (!Number.isInteger(offset) || offset < 1 || !Number.isInteger(dv.sizeInBytes) || dv.sizeInBytes < 0) {
    throw corrupt(ctx, `${where}: invalid offset ${dv.offset} or sizeInBytes ${dv.sizeInBytes}`);
  }

  let versionByte: number | undefined;
  let frame: Uint8Array;
  try {
    if (offset <= SINGLE_READ_MAX_OFFSET) {
      const head = await store.getRange(key, 0, offset + frameLength);
      versionByte = head[0];
      frame = head.subarray(offset);
    } else {
      const [first, rest] = await Promise.all([store.getRange(key, 0, 1), store.getRange(key, offset, frameLength)]);
      versionByte = first[0];
      frame = rest;
    }
  } catch (err) {
    if (err instanceof ObjectNotFoundError || (err as { code?: string }).code === 'ENOENT') {
      throw new MissingFileError(ctx.tablePath, key, ctx.version, err);
    }
    throw err;
  }

  if (versionByte !== DV_FILE_VERSION) {
    throw corrupt(ctx, `${where}: DV file format version ${versionByte}, expected ${DV_FILE_VERSION}`);
  }
  if (frame.length < frameLength) {
    throw corrupt(ctx, `${where}: file is truncated (needed ${frameLength} bytes, got ${frame.length})`);
  }
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const size = view.getUint32(0, false);
  if (size !== dv.sizeInBytes) {
    throw corrupt(ctx, `${where}: stored size ${size} differs from descriptor sizeInBytes ${dv.sizeInBytes}`);
  }
  const payload = frame.subarray(4, 4 + size);
  const expected = view.getUint32(4 + size, false);
  const actual = crc32(payload) >>> 0;
  if (actual !== expected) {
    throw corrupt(ctx, `${where}: CRC-32 checksum mismatch (stored ${hex(expected)}, computed ${hex(actual)})`);
  }
  return payload;
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

function corrupt(ctx: DvContext, message: string, cause?: unknown): CorruptLogError {
  return new CorruptLogError(
    ctx.tablePath,
    `${message} (referenced by version ${ctx.version}). The deletion vector is damaged; restore it or read an older version.`,
    { cause, version: ctx.version },
  );
}

// ---------------------------------------------------------------------------------------------
// Writing helpers, so operations (DELETE/UPDATE/MERGE with DVs) can produce descriptors.

/** An inline ('i') descriptor for the given deleted rows. Suitable for small DVs only. */
export function encodeInlineDeletionVector(rows: readonly number[]): DeletionVectorDescriptor {
  return inlineDeletionVector(encodeRoaringTreemap(rows), new Set(rows).size);
}

/** An inline descriptor for an encoded payload holding `cardinality` rows. */
export function inlineDeletionVector(payload: Uint8Array, cardinality: number): DeletionVectorDescriptor {
  return { storageType: 'i', pathOrInlineDv: z85Encode(payload), sizeInBytes: payload.length, cardinality };
}

/**
 * The bytes of a DV file holding one DV per row set, and for each the `offset`, `sizeInBytes`
 * and `cardinality` its descriptor needs (the caller adds storageType and pathOrInlineDv).
 */
export function encodeDeletionVectorFile(rowSets: readonly (readonly number[])[]): {
  bytes: Uint8Array;
  entries: { offset: number; sizeInBytes: number; cardinality: number }[];
} {
  return frameDeletionVectorFile(rowSets.map((rows) => ({ payload: encodeRoaringTreemap(rows), cardinality: new Set(rows).size })));
}

/** `encodeDeletionVectorFile` for payloads already encoded (with their cardinality). */
export function frameDeletionVectorFile(dvs: readonly { payload: Uint8Array; cardinality: number }[]): {
  bytes: Uint8Array;
  entries: { offset: number; sizeInBytes: number; cardinality: number }[];
} {
  const payloads = dvs.map((d) => d.payload);
  const total = 1 + payloads.reduce((n, p) => n + 8 + p.length, 0);
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  bytes[0] = DV_FILE_VERSION;
  let pos = 1;
  const entries = payloads.map((p, i) => {
    const entry = { offset: pos, sizeInBytes: p.length, cardinality: dvs[i].cardinality };
    view.setUint32(pos, p.length, false);
    bytes.set(p, pos + 4);
    view.setUint32(pos + 4 + p.length, crc32(p) >>> 0, false);
    pos += 8 + p.length;
    return entry;
  });
  return { bytes, entries };
}
