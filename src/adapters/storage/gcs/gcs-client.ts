import { createRequire } from 'node:module';
import type { Storage, StorageOptions } from '@google-cloud/storage';
import { InputError } from '../../../errors/lakelet-error.ts';

// Loaded on first use, not at import: the client takes ~0.3 s to load, which every local-only
// command (and every CLI child process of the tests) would otherwise pay.
const load = createRequire(import.meta.url);
function newStorage(options: StorageOptions): Storage {
  const { Storage: StorageClass } = load('@google-cloud/storage') as typeof import('@google-cloud/storage');
  return new StorageClass(options);
}

/**
 * Building the Cloud Storage client the way a GCP user expects, and the parsing of gs:// locations.
 *
 * Credentials: Application Default Credentials, found by the client itself (GOOGLE_APPLICATION_CREDENTIALS,
 * `gcloud auth application-default login`, or the metadata server on GCP). Never from lakelet.yml.
 *
 * Emulator: `STORAGE_EMULATOR_HOST` (`http://127.0.0.1:4443`, or `127.0.0.1:4443` as the gcloud
 * tools write it) sends every request there, unauthenticated. The 7.x client reads that variable
 * itself but uses it as the API base *without* `/storage/v1`, so every call reaches the wrong path
 * (fake-gcs-server answers 404). We turn it into `apiEndpoint` (which the client completes
 * correctly), hide the variable from the client while it is built, and give it a project id so that
 * nothing asks the metadata server for one.
 */
export interface GcsLocation {
  bucket: string;
  /** The folder inside the bucket, without slashes at either end ('' = the whole bucket). */
  prefix: string;
}

/** `gs://bucket/some/prefix` → { bucket, prefix }. A location that cannot name a bucket is an InputError. */
export function parseGsUri(uri: string): GcsLocation {
  const m = /^gs:\/\/([^/]*)(?:\/(.*))?$/i.exec(uri);
  if (!m) throw new InputError(`${uri}: not a gs:// location; write it as gs://<bucket>/<folder>.`);
  const bucket = m[1];
  // GCS bucket names: 3-63 characters of lower-case letters, digits, '-', '_' and '.' (up to 222 with dots).
  if (!/^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/.test(bucket) || (!bucket.includes('.') && bucket.length > 63)) {
    throw new InputError(
      `${uri}: '${bucket}' is not a valid bucket name (3-63 lower-case letters, digits, '-', '_' or '.'); write the location as gs://<bucket>/<folder>.`,
    );
  }
  const prefix = (m[2] ?? '').replace(/^\/+|\/+$/g, '');
  if (prefix.split('/').some((s) => s === '.' || s === '..') || prefix.includes('//')) {
    throw new InputError(`${uri}: the folder part may not contain '.', '..' or empty segments.`);
  }
  return { bucket, prefix };
}

/** The emulator's base URL from STORAGE_EMULATOR_HOST, or undefined when the variable is not set. */
export function emulatorEndpoint(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const raw = env.STORAGE_EMULATOR_HOST?.trim();
  if (!raw) return undefined;
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`;
  // Some write the full API root; the client adds /storage/v1 itself.
  return withScheme.replace(/\/+$/, '').replace(/\/storage\/v1$/, '');
}

export interface GcsClient {
  storage: Storage;
  /** Where requests go, for messages. */
  endpoint: string;
}

/** The client for the real service (ADC) or, with STORAGE_EMULATOR_HOST set, for the emulator (no auth). */
export function createGcsClient(env: NodeJS.ProcessEnv = process.env): GcsClient {
  const emulator = emulatorEndpoint(env);
  // Our retry helper (adapters/retry.ts) retries transient failures; the client's retries would
  // multiply with it (and it would also retry some 412-free conditional writes by itself).
  const retryOptions = { autoRetry: false, maxRetries: 0 };
  if (emulator === undefined) {
    return { storage: newStorage({ retryOptions }), endpoint: 'https://storage.googleapis.com' };
  }
  const projectId = env.GOOGLE_CLOUD_PROJECT || env.GCLOUD_PROJECT || 'lakelet-emulator';
  return { storage: withoutEmulatorVariable(() => newStorage({ apiEndpoint: emulator, projectId, retryOptions })), endpoint: emulator };
}

/** Runs `build` (synchronous) while process.env has no STORAGE_EMULATOR_HOST, so the client cannot take the wrong base URL from it. */
function withoutEmulatorVariable<T>(build: () => T): T {
  const saved = process.env.STORAGE_EMULATOR_HOST;
  if (saved === undefined) return build();
  delete process.env.STORAGE_EMULATOR_HOST;
  try {
    return build();
  } finally {
    process.env.STORAGE_EMULATOR_HOST = saved;
  }
}
