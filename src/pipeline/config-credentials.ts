import type { Document, LineCounter } from 'yaml';
import type { ConfigIssue } from './errors.ts';
import { formatPath, locate } from './yaml-locate.ts';

/**
 * Credentials never live in lakelet.yml: the file is committed, copied and shared, and Google's
 * clients already find Application Default Credentials by themselves. A key that looks like one
 * (credentials, keyFile, serviceAccount, …) gets a message saying where credentials come from,
 * instead of a bare "unknown key".
 */
const CREDENTIAL_KEY = /^(credentials?|credentialsfile|keyfile(name)?|serviceaccount(key|file|keyfile)?|googleapplicationcredentials|applicationcredentials|privatekey|clientsecret|accesstoken|apikey)$/;

export const ADC_HINT =
  'lakelet uses Application Default Credentials only: run `gcloud auth application-default login` on your machine, ' +
  'or set GOOGLE_APPLICATION_CREDENTIALS=/path/to/key.json for a service-account key, or rely on the attached service account on Google Cloud ' +
  '(Cloud Functions, Cloud Run, GCE); STORAGE_EMULATOR_HOST points it at an emulator';

/** Credential-looking keys at the top level, in any profile, and in any pipeline. */
export function credentialIssues(raw: unknown, doc: Document, lines: LineCounter): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const check = (value: unknown, at: string[]) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return;
    for (const key of Object.keys(value)) {
      if (!CREDENTIAL_KEY.test(key.toLowerCase().replace(/[-_]/g, ''))) continue;
      const path = [...at, key];
      issues.push({ path: formatPath(path), message: `credentials are not read from lakelet.yml; remove '${key}'. ${ADC_HINT}`, position: locate(doc, lines, path, { atKey: true }) });
    }
  };
  check(raw, []);
  const r = (raw ?? {}) as Record<string, unknown>;
  for (const section of ['profiles', 'pipelines']) {
    const entries = r[section];
    if (typeof entries !== 'object' || entries === null) continue;
    for (const [name, value] of Object.entries(entries)) check(value, [section, name]);
  }
  return issues.sort((a, b) => (a.position?.line ?? 0) - (b.position?.line ?? 0));
}
