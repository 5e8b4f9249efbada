/**
 * The starter lakelet.yml that `lakelet init` writes: one runnable pipeline (seed 002's order
 * tracking, fed by `lakelet generate orders`) showing every key with a one-line comment. Keys whose
 * default is usually right are written out with that default, so changing one is an edit, not a
 * lookup; optional keys with no default are commented out. test/cli/init.test.ts checks that
 * every key of the config schema appears here, and that this file parses and runs.
 */
export const STARTER_CONFIG = `# lakelet.yml: file pipelines for \`lakelet run\` (once) and \`lakelet watch\` (keeps running).
# Written by \`lakelet init\`. Paths are relative to this file. Every key is shown, set to its default
# or an example; the reference is the README's "Pipelines" section.
#
# Each pipeline: files land in \`landing\`; once complete they are checked and staged (with lineage
# columns) into the \`stage\` Delta table, moved to \`archive\` (unreadable ones to \`quarantine\`, with
# <name>.error.json), then MERGEd into \`target\` on \`key\`: exactly once, even across crashes.
# Try it:  lakelet generate orders --rows 10k --files 3 --pipeline orders && lakelet run --once

warehouse: delta                         # where stage/target tables live and MERGE runs (delta: the embedded engine)
# bigquery:                              # with warehouse: bigquery (credentials: Application Default Credentials only)
#   project: my-project                  # the Google Cloud project
#   dataset: lakelet                     # stage/target/ingestionLog paths name tables here: tables/orders -> tables_orders
#   location: US                         # where the dataset and every job live
#   loadJobFrom: 256MB                   # gs:// files this big or bigger: one load job straight from gs://, never read here
#   maxBadRecords: 0                     # bad records such a load job tolerates per file before quarantine
stateDir: ./.lakelet                     # batch manifests, locks and delete tombstones (one folder per pipeline)
ingestionLog: ./tables/ingestion_log     # Delta table, one row per file and outcome (default: <stateDir>/ingestion_log)

pipelines:
  orders:                                # the pipeline's name: letters, digits, _ . -
    landing: ./landing/orders            # where files arrive
    pattern: "*.csv"                     # which files to take (glob; "**/*.csv" includes subfolders)
    format: csv                          # csv | json | ndjson | parquet
    csv:                                 # CSV dialect; what is left out, DuckDB detects
      delimiter: ","
      header: true
      # quote: '"'
      # escape: '"'
      # nullString: ""
      # dateFormat: "%Y-%m-%d"
      # timestampFormat: "%Y-%m-%d %H:%M:%S"
    json:                                # format json / ndjson only
      repair: false                      # true: read Python-style pseudo-JSON (single quotes, True/False/None)
      # path: customers                  # read the array under this key of each document (fan-out: one pipeline per key)
    arrival:                             # when a landed file is complete enough to take
      stable: 1s                         # size and mtime unchanged for this long
      requireCompleteRecord: true        # a text file must end with a whole record (final newline, closing bracket)
      incompleteTimeout: 10m             # still incomplete after this long: quarantined (its writer died), never parsed
      marker: none                       # none | success (a _SUCCESS file in the folder) | done (<name>.done beside it)
      ignore: ["*.tmp", "*.temp", "*.part", "*.partial", "*.crdownload", "*._COPYING_", "*.filepart", "*.swp"]  # names of files still being written
    stage:                               # the stage Delta table: every row of every file, plus lineage columns
      path: ./tables/stage_orders
      retain: 7d                         # merged batches are kept this long: a duration, forever, or truncate-after-merge
      properties: {}                     # Delta table properties (on create; an existing table gets a metadata-only commit)
    target:                              # the target Delta table: one row per key
      path: ./tables/orders
      properties:
        delta.enableChangeDataFeed: true # lets \`lakelet changes ./tables/orders --from-version 0\` list every change
    key: tracking_num                    # the MERGE key: a column, or a list of columns
    orderBy: updated_at                  # the newest row per key wins; an older row never replaces a newer one
    partitionBy: []                      # partition columns of the target (when it is created)
    transforms:                          # per column, while staging: cast, epoch, rename
      amount: { cast: "DECIMAL(10,2)" }  # cast to a DuckDB type; a value that does not fit is a bad record
      # created_at: { epoch: auto }      # epoch numbers to UTC timestamps: seconds | millis | micros | auto (by magnitude)
      # cust_id: { rename: customer_id }
    schemaDrift: evolve                  # a new column: evolve (add it) | rescue (into _rescued_data) | fail (quarantine the file) | ignore
    badRecords: quarantine-file          # a bad line or row: quarantine-file (good rows load, bad ones to a file in quarantine) | rescue | fail-file (quarantine the whole file)
    badRecordsLimit: 10%                 # a file with a larger share of bad records is quarantined whole
    duplicates: content                  # content: a file with the bytes of one already applied is a duplicate whatever its name | name-and-content
    # deletes: { column: op, values: [D] }  # a row whose column holds one of these values deletes its key
    archive: ./archive/orders            # taken files move here, one folder per batch
    quarantine: ./quarantine/orders      # files that cannot be loaded, each with <name>.error.json
    batch: { maxFiles: 100, maxBytes: 256MB }  # at most this much per batch (one stage commit, one MERGE)

# Databases synced by \`lakelet sync\` (README, "Database sources"): rows changed since the watermark
# committed with the target, MERGEd on the primary key. Uncomment to use.
# sources:
#   shop:
#     url: mysql://sync@db.internal:3306/shop   # or postgres://user@host:5432/db; never a password here
#     passwordEnv: SHOP_DB_PASSWORD             # the password from this environment variable…
#     passwordFile: ./secrets/shop.pw           # …or from this file (one of the two)
#     tls: { mode: verify-full, ca: ./ca.pem }  # disable | require | verify-ca | verify-full
#     connectTimeout: 10s
#     tables: [customers, orders]               # listed tables (or discover:, not both)
#     discover: { schemas: [shop], include: ["*"], exclude: ["tmp_*"] }  # without tables: every table found
#     watermark: [updated_at, created_at]       # watermark column names to look for, in order
#     withoutWatermark: skip                    # a table without one: skip (reported) | full (re-read whole each run)
#     lookback: 5m                              # re-read this far back from the watermark (late commits)
#     pageSize: 50000                           # rows per keyset page
#     rowsPerFile: 250000                       # source rows per Parquet file handed to the stage
#     schemaDrift: evolve                       # evolve (add new columns) | ignore | fail
#     softDelete: deleted_at                    # a row with this column set is deleted from the target
#     keyDiff: { recent: 7d }                   # or true: keys gone from the source are deleted (compare scoped to the last 7 days)
#     tableOptions: { orders: { watermark: modified, softDelete: is_deleted } }
#     properties: { delta.enableDeletionVectors: true }   # Delta properties of every target (DVs: small changes rewrite no file)
#     metadata: ./tables/shop/_sync_metadata    # seed 003's metadata table, readable with lakelet read (this is the default)
#     target: ./tables/shop                     # one Delta table per source table
#     # stage: ./tables/_stage/shop             # default: <stateDir>/sync/<source>/stage
#
# Profiles: the same pipelines elsewhere, by locations only (lakelet run --profile gcp, or LAKELET_PROFILE=gcp).
# local (the default) is this file as written. Credentials never go here: Application Default Credentials.
# profiles:
#   gcp:
#     root: gs://my-lake/prod                 # relative locations above resolve under this (stateDir included)
#     pipelines:
#       orders: { landing: gs://my-uploads/orders, archive: gs://my-archive/orders }   # or set one outright
`;
