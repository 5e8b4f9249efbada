import { LakeletError } from '../../../errors/lakelet-error.ts';

/**
 * A CloudEvent the Cloud Function entry cannot use: another event type, or a Cloud Storage event
 * without the bucket or object name. Redelivering it cannot help, so the entry acknowledges it
 * (logged as an error) instead of having the platform retry it.
 */
export class CloudEventError extends LakeletError {
  constructor(readonly eventId: string | undefined, detail: string) {
    super('CLOUD_EVENT', `CloudEvent ${eventId ?? '(without an id)'}: ${detail}`);
  }
}
