import { LakeletError } from '../errors/lakelet-error.ts';

/**
 * The errors of `lakelet ui`. A request error carries the HTTP status the server answers with; its
 * message is what the page shows, so it says what was asked for and what to do instead.
 */
export class UiRequestError extends LakeletError {
  constructor(
    readonly status: 400 | 404 | 405,
    message: string,
  ) {
    super(status === 404 ? 'UI_NOT_FOUND' : status === 405 ? 'UI_METHOD' : 'UI_BAD_REQUEST', message);
  }
}

/** `lakelet ui --host` names an address other machines can reach, without --allow-remote. */
export class UiBindError extends LakeletError {
  constructor(readonly host: string) {
    super(
      'UI_BIND',
      `refusing to serve the UI on ${host}: it is not a loopback address, so other machines could read your tables. ` +
        'Use 127.0.0.1 (the default), or pass --allow-remote if you really mean to expose it.',
    );
  }
}
