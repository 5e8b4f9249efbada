import { z } from 'zod';

/**
 * The `bigquery:` block of a lakelet.yml (with `warehouse: bigquery`): where the tables live.
 * Credentials are never here: the client finds Application Default Credentials itself
 * (GOOGLE_APPLICATION_CREDENTIALS, `gcloud auth application-default login`, the metadata server);
 * BIGQUERY_EMULATOR_HOST points it at an emulator.
 */
export const bigquerySchema = z
  .object({
    project: z.string().regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$|^[a-z0-9.:-]+$/, 'a Google Cloud project id like my-project-123'),
    dataset: z.string().regex(/^[A-Za-z0-9_]{1,1024}$/, 'a dataset id: letters, digits and _'),
    location: z.string().min(1).default('US'),
    /**
     * Seed 004's dispatch: a gs:// landed file at or above this size is loaded by a BigQuery load job
     * straight from its URI, never read by lakelet; smaller ones are read and checked in-process.
     */
    loadJobFrom: z.union([z.number().int().positive(), z.string().regex(/^\s*\d+(\.\d+)?\s*([kmgt]i?b?|b)?\s*$/i, "a size like 1048576, '64MB' or '1GiB'")]).optional(),
    /** Bad records a straight load job tolerates per file (BigQuery's maxBadRecords) before the file is quarantined. */
    maxBadRecords: z.number().int().nonnegative().default(0),
  })
  .strict();

export type RawBigQuery = z.infer<typeof bigquerySchema>;
