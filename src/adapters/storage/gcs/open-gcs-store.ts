import { createGcsClient, emulatorEndpoint, parseGsUri, type GcsClient } from './gcs-client.ts';
import { GcsObjectStore } from './gcs-object-store.ts';

// One client per endpoint and process: it holds the credentials and the connection pool, which
// every store of a run shares.
const clients = new Map<string, GcsClient>();

/** The store for a `gs://bucket/folder` location (STORAGE_EMULATOR_HOST honoured). */
export function openGcsStore(uri: string, env: NodeJS.ProcessEnv = process.env): GcsObjectStore {
  const { bucket, prefix } = parseGsUri(uri);
  const key = emulatorEndpoint(env) ?? '';
  let client = clients.get(key);
  if (client === undefined) {
    client = createGcsClient(env);
    clients.set(key, client);
  }
  return new GcsObjectStore({ storage: client.storage, endpoint: client.endpoint, bucket, prefix });
}
