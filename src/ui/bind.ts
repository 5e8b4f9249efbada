import { isIP } from 'node:net';
import { UiBindError } from './errors.ts';

/**
 * Where the UI may listen. Only loopback unless the caller explicitly allows more: the UI has no
 * login, and tables often hold data that must not leave the laptop. Names other than `localhost`
 * are refused too: what they resolve to can change under us.
 */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || /^::ffff:127\./.test(h);
  return false;
}

export function assertBindAllowed(host: string, allowRemote: boolean): void {
  if (!allowRemote && !isLoopback(host)) throw new UiBindError(host);
}
