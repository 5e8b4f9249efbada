import { cloudEvent, type CloudEvent } from '@google-cloud/functions-framework';
import { finalizedObject, type FinalizedObject } from './finalized-object.ts';
import { CloudEventError } from './cloud-event-error.ts';

/**
 * Registers a handler for Cloud Storage finalize events with the Functions Framework, under the
 * function target `target` (`--target` locally, `--entry-point` on deploy). The framework turns both
 * HTTP modes of a CloudEvent (structured: the whole event as application/cloudevents+json; binary:
 * ce-* headers and the data as body) into one event; here it becomes a FinalizedObject.
 *
 * The HTTP answer is what the platform acts on: 2xx acknowledges the event, anything else has it
 * redelivered (when the trigger retries). So `handle` resolving acknowledges and throwing asks for
 * a retry; an event that cannot be parsed is handed to `onBadEvent` and acknowledged, since no
 * redelivery of it could ever succeed.
 */
export function registerFinalizedHandler(
  target: string,
  handle: (object: FinalizedObject) => Promise<void>,
  onBadEvent: (err: CloudEventError, event: CloudEvent<unknown>) => void,
): (event: CloudEvent<unknown>) => Promise<void> {
  const handler = async (event: CloudEvent<unknown>): Promise<void> => {
    let object: FinalizedObject;
    try {
      object = finalizedObject(event);
    } catch (err) {
      if (!(err instanceof CloudEventError)) throw err;
      onBadEvent(err, event);
      return;
    }
    await handle(object);
  };
  cloudEvent(target, handler);
  return handler;
}
