import { InputError } from '../errors.ts';

/**
 * Checks and normalises Delta table properties (`configuration` in metaData) before they are
 * committed. Readers compare boolean properties with the exact string 'true', so 'TRUE' or 'True'
 * would silently leave a feature off: they are lower-cased, and anything else than true/false is
 * refused. Properties lakelet does not know are kept as given (other engines' settings), unless
 * a `delta.` one is a near-miss of a known name (see meantProperty).
 */
const BOOLEAN_PROPERTIES = new Set([
  'delta.appendOnly',
  'delta.enableChangeDataFeed',
  'delta.enableDeletionVectors',
  'delta.enableInCommitTimestamps',
  'delta.checkpoint.writeStatsAsJson',
  'delta.checkpoint.writeStatsAsStruct',
  'delta.randomizeFilePrefixes',
]);

const POSITIVE_INTEGER_PROPERTIES = new Set(['delta.checkpointInterval', 'delta.targetFileSize', 'delta.dataSkippingNumIndexedCols']);

/**
 * Delta table properties engines define (Delta's own and Databricks' documented ones, whatever
 * lakelet does with them). Only used to catch a near-miss: a `delta.` key that is not one of these
 * but is one or two typing slips from one (`delta.enableDeletionVector`) would be stored and
 * silently do nothing, so it is refused with the name meant. Other unknown keys are kept.
 */
const KNOWN_DELTA_PROPERTIES = [
  ...BOOLEAN_PROPERTIES,
  ...POSITIVE_INTEGER_PROPERTIES,
  'delta.columnMapping.mode',
  'delta.checkpointRetentionDuration',
  'delta.checkpointPolicy',
  'delta.compatibility.symlinkFormatManifest.enabled',
  'delta.dataSkippingStatsColumns',
  'delta.deletedFileRetentionDuration',
  'delta.enableExpiredLogCleanup',
  'delta.enableFullRetentionRollback',
  'delta.enableIcebergCompatV1',
  'delta.enableIcebergCompatV2',
  'delta.enableRowTracking',
  'delta.enableTypeWidening',
  'delta.isolationLevel',
  'delta.logRetentionDuration',
  'delta.minReaderVersion',
  'delta.minWriterVersion',
  'delta.randomPrefixLength',
  'delta.setTransactionRetentionDuration',
  'delta.tuneFileSizesForRewrites',
  'delta.autoOptimize.autoCompact',
  'delta.autoOptimize.optimizeWrite',
  'delta.universalFormat.enabledFormats',
];

/** The known property `key` is a slip of (same letters ignoring case, or at most two edits away), if any. */
function meantProperty(key: string): string | undefined {
  if (!key.startsWith('delta.') || KNOWN_DELTA_PROPERTIES.includes(key)) return undefined;
  // Families whose members are named by the user or the writer: any name is legitimate.
  if (/^delta\.(constraints|coordinatedCommits|columnMapping|rowTracking|inCommitTimestamp)/.test(key)) return undefined;
  const lower = key.toLowerCase();
  // Names that differ only in a number are versions of one family (delta.enableIcebergCompatV3 is
  // not a slip of …V2): never taken for a typo.
  const family = (name: string) => name.replace(/\d+/g, '#');
  const near = (k: string) => family(k) !== family(lower) && editDistanceAtMost(lower, k, 2);
  return KNOWN_DELTA_PROPERTIES.find((k) => k.toLowerCase() === lower) ?? KNOWN_DELTA_PROPERTIES.find((k) => near(k.toLowerCase()));
}

/** Whether `a` becomes `b` in at most `max` insertions, deletions or substitutions. */
function editDistanceAtMost(a: string, b: string, max: number): boolean {
  if (Math.abs(a.length - b.length) > max) return false;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row.push(Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1)));
    if (Math.min(...row) > max) return false;
    prev = row;
  }
  return prev[b.length] <= max;
}

export function normalizeTableProperties(table: string, props: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, raw] of Object.entries(props)) {
    if (!key.trim() || /\s/.test(key)) throw new InputError(`${table}: '${key}' is not a table property name (no spaces, not empty).`);
    const value = String(raw);
    if (key.startsWith('delta.feature.')) {
      // In Spark such a key is no property: it adds a feature to the protocol. Stored as a property
      // it would claim nothing and do nothing; lakelet raises the protocol itself for what it writes.
      throw new InputError(
        `${table}: ${key} would add a protocol feature, which lakelet does not do on request: it adds the features a property needs itself ` +
          `(delta.enableDeletionVectors=true adds deletionVectors, delta.enableChangeDataFeed=true changeDataFeed, delta.columnMapping.mode=name columnMapping). Set the property instead.`,
      );
    }
    const meant = meantProperty(key);
    if (meant) throw new InputError(`${table}: ${key} is not a Delta table property, so it would be stored and do nothing; did you mean ${meant}?`);
    if (BOOLEAN_PROPERTIES.has(key)) {
      const v = value.trim().toLowerCase();
      if (v !== 'true' && v !== 'false') throw new InputError(`${table}: table property ${key} must be true or false, not '${value}'.`);
      out[key] = v;
    } else if (key === 'delta.columnMapping.mode') {
      const v = value.trim().toLowerCase();
      if (v !== 'none' && v !== 'name' && v !== 'id') throw new InputError(`${table}: table property ${key} must be none, name or id, not '${value}'.`);
      out[key] = v;
    } else if (POSITIVE_INTEGER_PROPERTIES.has(key)) {
      if (!/^\s*-?\d+\s*$/.test(value) || (Number(value) < 1 && key !== 'delta.dataSkippingNumIndexedCols')) {
        throw new InputError(`${table}: table property ${key} must be a whole number${key === 'delta.dataSkippingNumIndexedCols' ? '' : ' of 1 or more'}, not '${value}'.`);
      }
      out[key] = value.trim();
    } else {
      out[key] = value;
    }
  }
  return out;
}

/**
 * Properties that cannot simply be switched on an existing table: each needs more than a new
 * configuration entry (column mapping mode name is the exception: the caller then gives every
 * field an id and a physical name, see column-mapping-assign.ts; in-commit
 * timestamps record the version they were enabled at; constraints must first hold for every row).
 */
export function assertSettableOnExisting(table: string, props: Record<string, string>, current: Record<string, string>): void {
  for (const [key, value] of Object.entries(props)) {
    if (current[key] === value) continue;
    if (key === 'delta.columnMapping.mode') {
      const from = current[key] ?? 'none';
      // Like Spark: a table without mapping can switch to mode name (each field's physical name is
      // its current name, so the files already written stay valid); nothing else can change.
      if (from === 'none' && value === 'name') continue;
      if (from === 'none' && value === 'id') {
        throw new InputError(
          `${table}: an existing table cannot switch to column mapping mode id (its data files carry no field ids). ` +
            `Set delta.columnMapping.mode=name instead, or create a new table with mode id (\`lakelet write <new table> --from <file> --property delta.columnMapping.mode=id\`) and write the rows into it.`,
        );
      }
      throw new InputError(`${table}: column mapping mode ${from} cannot be changed to ${value} on an existing table (the data files are written under physical names); copy the rows into a new table instead.`);
    }
    if (key.startsWith('delta.columnMapping.')) {
      throw new InputError(`${table}: ${key} is maintained by the writer (column ids and physical names); it cannot be set. Set delta.columnMapping.mode to name or id instead.`);
    }
    if (key === 'delta.enableInCommitTimestamps' || key.startsWith('delta.inCommitTimestamp')) {
      throw new InputError(`${table}: ${key} can only be set when the table is created; lakelet does not enable in-commit timestamps on an existing table.`);
    }
    if (key.startsWith('delta.constraints.')) {
      throw new InputError(`${table}: ${key} is a CHECK constraint; it must hold for every existing row, so it cannot be set as a plain property. Set it when the table is created.`);
    }
  }
}
