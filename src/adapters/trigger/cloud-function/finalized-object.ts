import { CloudEventError } from './cloud-event-error.ts';

/** The CloudEvent type Cloud Storage sends when an object is written (created or overwritten). */
export const FINALIZED_EVENT_TYPE = 'google.cloud.storage.object.v1.finalized';

/**
 * What a `google.cloud.storage.object.v1.finalized` event says about the object: enough to find
 * the pipeline whose landing holds it and to tell this upload from a later one under the same name.
 */
export interface FinalizedObject {
  /** The event's id (the same on every redelivery of one event). */
  eventId: string;
  bucket: string;
  /** The object's full name in the bucket. */
  name: string;
  /** The upload's generation (decimal string): a new one on every upload under the name. */
  generation?: string;
  size?: number;
  contentType?: string;
  timeCreated?: string;
}

/** The attributes of a CloudEvent that matter here, whichever mode (structured or binary) it came in. */
export interface CloudEventLike {
  id?: unknown;
  type?: unknown;
  source?: unknown;
  subject?: unknown;
  data?: unknown;
}

/**
 * The finalized object of a CloudEvent. The bucket and name come from the event's data
 * (StorageObjectData); when the data lacks them, from `source`
 * (`//storage.googleapis.com/projects/_/buckets/<bucket>`) and `subject` (`objects/<name>`).
 * Data may arrive parsed, or as JSON text or bytes (binary mode with another content type).
 */
export function finalizedObject(event: CloudEventLike): FinalizedObject {
  const eventId = typeof event.id === 'string' && event.id !== '' ? event.id : undefined;
  if (event.type !== FINALIZED_EVENT_TYPE) {
    throw new CloudEventError(
      eventId,
      `type '${String(event.type)}' is not handled; this function takes ${FINALIZED_EVENT_TYPE} only (deploy it with --trigger-event-filters type=${FINALIZED_EVENT_TYPE}).`,
    );
  }
  if (!eventId) throw new CloudEventError(undefined, 'it has no id (ce-id); a CloudEvent needs one.');
  const data = eventData(event.data, eventId);
  const bucket = text(data.bucket) ?? /\/buckets\/([^/]+)$/.exec(text(event.source) ?? '')?.[1];
  const name = text(data.name) ?? /^objects\/(.+)$/.exec(text(event.subject) ?? '')?.[1];
  if (!bucket || !name) {
    throw new CloudEventError(eventId, `it names no ${!bucket ? 'bucket' : 'object'}: the data (StorageObjectData) needs 'bucket' and 'name' (or the event a source and subject).`);
  }
  const generation = text(data.generation) ?? (typeof data.generation === 'number' ? String(data.generation) : undefined);
  if (generation !== undefined && !/^\d+$/.test(generation)) throw new CloudEventError(eventId, `generation '${generation}' of gs://${bucket}/${name} is not a number.`);
  const size = data.size === undefined ? undefined : Number(data.size);
  return {
    eventId,
    bucket,
    name,
    ...(generation !== undefined ? { generation } : {}),
    ...(size !== undefined && Number.isFinite(size) ? { size } : {}),
    ...(text(data.contentType) ? { contentType: text(data.contentType)! } : {}),
    ...(text(data.timeCreated) ? { timeCreated: text(data.timeCreated)! } : {}),
  };
}

function eventData(data: unknown, eventId: string): Record<string, unknown> {
  let value = data;
  if (value instanceof Uint8Array) value = new TextDecoder().decode(value);
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      throw new CloudEventError(eventId, 'its data is not JSON (a StorageObjectData object was expected).');
    }
  }
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new CloudEventError(eventId, 'its data is not a StorageObjectData object.');
  return value as Record<string, unknown>;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
