/**
 * How long a removed file must stay readable: `delta.deletedFileRetentionDuration`, the window in
 * which time travel may still need it. VACUUM deletes nothing younger; a checkpoint keeps the
 * removes (tombstones) within it, so that another engine's VACUUM sees them too.
 */

/** Delta's default retention: 7 days. */
export const DEFAULT_RETENTION_MS = 7 * 24 * 3_600_000;

const UNIT_MS: Record<string, number> = {
  week: 7 * 86_400_000,
  day: 86_400_000,
  hour: 3_600_000,
  minute: 60_000,
  second: 1000,
  millisecond: 1,
  microsecond: 0.001,
};

/**
 * Delta's calendar-interval strings: `interval 7 days`, `interval 1 week`, `168 hours`,
 * `interval 1 day 12 hours`. Months and years have no fixed length and are not accepted (as in Delta);
 * nor is a negative total, which would let VACUUM delete files time travel still needs.
 */
export function parseInterval(text: string): number | undefined {
  const words = text.trim().toLowerCase().replace(/^interval\s+/, '').split(/\s+/);
  if (words.length === 0 || words.length % 2 !== 0) return undefined;
  let total = 0;
  for (let i = 0; i < words.length; i += 2) {
    const n = Number(words[i]);
    const unit = words[i + 1].replace(/s$/, '');
    if (!Number.isFinite(n) || !(unit in UNIT_MS)) return undefined;
    total += n * UNIT_MS[unit];
  }
  return total < 0 ? undefined : Math.floor(total);
}

/** The table's retention in ms: the default when unset, undefined when the setting does not parse. */
export function configuredRetentionMs(configuration: Record<string, string>): number | undefined {
  const text = configuration['delta.deletedFileRetentionDuration'];
  return text === undefined ? DEFAULT_RETENTION_MS : parseInterval(text);
}
