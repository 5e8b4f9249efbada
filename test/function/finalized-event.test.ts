import { describe, expect, it } from 'vitest';
import { CloudEventError } from '../../src/adapters/trigger/cloud-function/cloud-event-error.ts';
import { FINALIZED_EVENT_TYPE, finalizedObject } from '../../src/adapters/trigger/cloud-function/finalized-object.ts';
import { parseConfig } from '../../src/pipeline/config.ts';
import { claimObject } from '../../src/function/claim.ts';
import { lakeletYaml, PIPELINE_DEFAULTS } from '../support/pipeline-yaml.ts';

const source = '//storage.googleapis.com/projects/_/buckets/lake';
const data = { bucket: 'lake', name: 'in/a.csv', generation: '1712345678901234', size: '42', contentType: 'text/csv', timeCreated: '2024-05-17T08:30:00.000Z' };

describe('a Cloud Storage finalize CloudEvent, as the Functions Framework hands it over', () => {
  it('gives bucket, name, generation and size, whether its data came parsed, as JSON text or as bytes', () => {
    const want = { eventId: 'e1', bucket: 'lake', name: 'in/a.csv', generation: '1712345678901234', size: 42, contentType: 'text/csv', timeCreated: '2024-05-17T08:30:00.000Z' };
    for (const d of [data, JSON.stringify(data), new TextEncoder().encode(JSON.stringify(data))]) {
      expect(finalizedObject({ id: 'e1', type: FINALIZED_EVENT_TYPE, source, subject: 'objects/in/a.csv', data: d })).toEqual(want);
    }
  });

  it('takes bucket and name from source and subject when the data lacks them', () => {
    expect(finalizedObject({ id: 'e2', type: FINALIZED_EVENT_TYPE, source, subject: 'objects/x/y z.csv', data: { generation: 7 } })).toEqual({ eventId: 'e2', bucket: 'lake', name: 'x/y z.csv', generation: '7' });
  });

  it('refuses another event type, a missing object name or id, and a generation that is not a number, naming the event', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ id: 'e3', type: 'google.cloud.storage.object.v1.deleted', source, data }, /CloudEvent e3: type 'google\.cloud\.storage\.object\.v1\.deleted' is not handled; .*--trigger-event-filters type=google\.cloud\.storage\.object\.v1\.finalized/],
      [{ id: 'e4', type: FINALIZED_EVENT_TYPE, source, data: { bucket: 'lake' } }, /CloudEvent e4: it names no object/],
      [{ type: FINALIZED_EVENT_TYPE, source, data }, /has no id/],
      [{ id: 'e5', type: FINALIZED_EVENT_TYPE, data: { ...data, generation: 'abc' } }, /generation 'abc' of gs:\/\/lake\/in\/a\.csv is not a number/],
      [{ id: 'e6', type: FINALIZED_EVENT_TYPE, data: '{not json' }, /CloudEvent e6: its data is not JSON/],
    ];
    for (const [event, message] of cases) {
      expect(() => finalizedObject(event)).toThrow(CloudEventError);
      expect(() => finalizedObject(event)).toThrow(message);
    }
  });
});

describe('which pipelines claim an object', () => {
  const config = parseConfig(
    lakeletYaml({
      orders: { ...PIPELINE_DEFAULTS, landing: 'gs://lake/landing', stage: './t/o-stage', target: './t/o', archive: 'gs://lake/archive/orders', quarantine: './q/orders' },
      eu: { ...PIPELINE_DEFAULTS, landing: 'gs://lake/landing/eu', stage: './t/eu-stage', target: './t/eu', archive: './a/eu', quarantine: './q/eu' },
      customers: { ...PIPELINE_DEFAULTS, format: 'json', json: { path: 'customers' }, landing: 'gs://crm/', stage: './t/c-stage', target: './t/c', archive: './a/c', quarantine: './q/c' },
      subscriptions: { ...PIPELINE_DEFAULTS, format: 'json', json: { path: 'subscriptions' }, landing: 'gs://crm/', stage: './t/s-stage', target: './t/s', archive: './a/s', quarantine: './q/s' },
      local: { ...PIPELINE_DEFAULTS, landing: './landing', stage: './t/l-stage', target: './t/l', archive: './a/l', quarantine: './q/l' },
    }),
    '/work/lakelet.yml',
  );
  const claim = (bucket: string, name: string) => {
    const c = claimObject(config.pipelines, bucket, name);
    return c && { pipelines: c.pipelines.map((p) => p.name), key: c.key };
  };

  it('the pipeline whose gs:// landing folder holds it, with its key in that folder; the deepest landing wins', () => {
    expect(claim('lake', 'landing/2024/a.csv')).toEqual({ pipelines: ['orders'], key: '2024/a.csv' });
    expect(claim('lake', 'landing/eu/a.csv')).toEqual({ pipelines: ['eu'], key: 'a.csv' });
  });

  it('every pipeline fanning out one landing (json.path), a whole-bucket landing included', () => {
    expect(claim('crm', 'export.json')).toEqual({ pipelines: ['customers', 'subscriptions'], key: 'export.json' });
  });

  it('none for another bucket, a folder that only starts with the same letters, a folder placeholder, or what a local landing would hold', () => {
    expect(claim('other', 'landing/a.csv')).toBeUndefined();
    expect(claim('lake', 'landing2/a.csv')).toBeUndefined();
    expect(claim('lake', 'archive/orders/a.csv')).toBeUndefined();
    expect(claim('lake', 'landing/')).toBeUndefined();
    expect(claim('lake', 'landing/eu/')).toBeUndefined();
  });
});
