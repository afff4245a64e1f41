// Events against the fake API server (which validates them like the real one): what is posted, the
// involved object, rate limiting per object and overall, and failures that never reach the caller.
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { createEventRecorder, MAX_EVENT_MESSAGE_CHARS, type EventRecorderOptions } from '../../src/kube/events.js';
import { startFakeKubeApi, type FakeKubeApi } from '../support/fake-kube-api.js';
import { freePort } from '../support/free-port.js';
import { haveTools } from '../support/registry-server.js';

const maybe = haveTools('openssl') ? describe : describe.skip;

maybe('event recorder', () => {
  let api: FakeKubeApi;
  let clock: number;
  beforeEach(async () => {
    api = await startFakeKubeApi();
    clock = 1_800_000_000_000;
  });
  afterEach(async () => {
    await api.close();
  });

  const recorder = (overrides: Partial<EventRecorderOptions> = {}) =>
    createEventRecorder({ coreApi: api.kubeConfig().makeApiClient(CoreV1Api), instance: 'signet-7d9f', now: () => clock, ...overrides });
  const pod = (name: string | undefined) => ({ kind: 'Pod', apiVersion: 'v1', name, uid: name === undefined ? undefined : `uid-${name}` });

  test('a denial is a Warning Event on the named Pod, in its namespace, as kubectl describe lists it', async () => {
    const events = recorder();
    const outcome = await events.recordDenial({ namespace: 'shop', involvedObject: pod('api-0'), message: 'image ghcr.io/x/api:1 is not signed by a trusted key' });
    expect(outcome).toEqual({ kind: 'posted' });
    const [event] = api.events();
    expect(event).toMatchObject({
      metadata: { namespace: 'shop' },
      involvedObject: { kind: 'Pod', name: 'api-0', namespace: 'shop', uid: 'uid-api-0', apiVersion: 'v1' },
      reason: 'ImageSignatureDenied',
      message: 'image ghcr.io/x/api:1 is not signed by a trusted key',
      type: 'Warning',
      source: { component: 'signet' },
      reportingComponent: 'signet',
      reportingInstance: 'signet-7d9f',
      count: 1,
      firstTimestamp: new Date(clock).toISOString(),
      lastTimestamp: new Date(clock).toISOString(),
    });
    expect((event?.['metadata'] as { name: string }).name).toMatch(/^api-0\.[0-9a-f]+$/);
  });

  test('an object without a name yet (generateName) is reported on its namespace', async () => {
    const events = recorder();
    expect(await events.recordDenial({ namespace: 'shop', involvedObject: pod(undefined), message: 'denied' })).toEqual({ kind: 'posted' });
    expect(api.events()[0]).toMatchObject({ metadata: { namespace: 'shop' }, involvedObject: { kind: 'Namespace', name: 'shop', namespace: 'shop', apiVersion: 'v1' } });
    expect(api.events()[0]?.['involvedObject']).not.toHaveProperty('uid');
  });

  test('once per object and reason per interval; other objects are not held back', async () => {
    const events = recorder({ rateLimit: { perObjectIntervalMs: 60_000 } });
    const deployment = { kind: 'Deployment', apiVersion: 'apps/v1', name: 'web' };
    expect(await events.recordDenial({ namespace: 'shop', involvedObject: deployment, message: 'first' })).toEqual({ kind: 'posted' });
    clock += 59_000;
    expect(await events.recordDenial({ namespace: 'shop', involvedObject: deployment, message: 'second' })).toEqual({ kind: 'suppressed', why: 'recently-posted' });
    expect(await events.recordDenial({ namespace: 'shop', involvedObject: { ...deployment, name: 'worker' }, message: 'other object' })).toEqual({ kind: 'posted' });
    expect(await events.recordDenial({ namespace: 'other', involvedObject: deployment, message: 'same name, other namespace' })).toEqual({ kind: 'posted' });
    clock += 2_000;
    expect(await events.recordDenial({ namespace: 'shop', involvedObject: deployment, message: 'after the interval' })).toEqual({ kind: 'posted' });
    expect(api.events().map((event) => event['message'])).toEqual(['first', 'other object', 'same name, other namespace', 'after the interval']);
  });

  test('the remembered objects are bounded: the oldest is forgotten first', async () => {
    const events = recorder({ rateLimit: { maxTracked: 2 } });
    for (const name of ['a', 'b', 'c']) await events.recordDenial({ namespace: 'ns', involvedObject: pod(name), message: name });
    expect(await events.recordDenial({ namespace: 'ns', involvedObject: pod('c'), message: 'c again' })).toMatchObject({ kind: 'suppressed' });
    expect(await events.recordDenial({ namespace: 'ns', involvedObject: pod('a'), message: 'a again' })).toEqual({ kind: 'posted' });
  });

  test('a global token bucket caps bursts across objects', async () => {
    const events = recorder({ rateLimit: { burst: 3, perSecond: 1 } });
    const outcomes = [];
    for (let i = 0; i < 5; i += 1) outcomes.push(await events.recordDenial({ namespace: 'ns', involvedObject: pod(`p${i}`), message: 'x' }));
    expect(outcomes.map((outcome) => outcome.kind)).toEqual(['posted', 'posted', 'posted', 'suppressed', 'suppressed']);
    expect(outcomes[3]).toEqual({ kind: 'suppressed', why: 'rate-limited' });
    clock += 1000;
    expect(await events.recordDenial({ namespace: 'ns', involvedObject: pod('p9'), message: 'x' })).toEqual({ kind: 'posted' });
  });

  test('long messages are clipped', async () => {
    await recorder().recordDenial({ namespace: 'ns', involvedObject: pod('p'), message: 'x'.repeat(5000) });
    const message = String(api.events()[0]?.['message']);
    expect(message).toHaveLength(MAX_EVENT_MESSAGE_CHARS);
    expect(message.endsWith('…')).toBe(true);
  });

  test('an API failure is returned and reported, never thrown, and the next occurrence tries again', async () => {
    const failures: string[] = [];
    const events = recorder({ onError: (message) => failures.push(message) });
    api.failNext('create', 403);
    const outcome = await events.recordDenial({ namespace: 'ns', involvedObject: pod('p'), message: 'x' });
    expect(outcome).toEqual({ kind: 'failed', message: 'HTTP 403: injected failure 403' });
    expect(failures).toEqual(['HTTP 403: injected failure 403']);
    expect(await events.recordDenial({ namespace: 'ns', involvedObject: pod('p'), message: 'x' })).toEqual({ kind: 'posted' });
  });

  test('an unreachable API server and a throwing logger still only give a failed outcome', async () => {
    const port = await freePort();
    const unreachable = new KubeConfig();
    unreachable.loadFromOptions({
      clusters: [{ name: 'gone', server: `https://127.0.0.1:${port}`, skipTLSVerify: false }],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'c', cluster: 'gone', user: 'u' }],
      currentContext: 'c',
    });
    const events = createEventRecorder({
      coreApi: unreachable.makeApiClient(CoreV1Api),
      requestTimeoutMs: 1000,
      onError: () => {
        throw new Error('logger broke');
      },
    });
    const outcome = await events.recordDenial({ namespace: 'ns', involvedObject: pod('p'), message: 'x' });
    expect(outcome.kind).toBe('failed');
    expect(outcome.kind === 'failed' ? outcome.message : '').toMatch(/ECONNREFUSED|fetch failed/);
    await events.flush();
  });

  test('invalid trust: one Event per rejected revision of the ConfigMap', async () => {
    const events = recorder();
    const configMap = { namespace: 'signet', name: 'trust', uid: 'u-1', resourceVersion: '7' };
    expect(await events.recordInvalidTrust({ configMap, message: 'policy configmap signet/trust (policy.yaml) is invalid (1 problem): …' })).toEqual({ kind: 'posted' });
    expect(await events.recordInvalidTrust({ configMap, message: 'policy configmap signet/trust (policy.yaml) is invalid (1 problem): …' })).toMatchObject({ kind: 'suppressed' });
    expect(await events.recordInvalidTrust({ configMap: { ...configMap, resourceVersion: '8' }, message: 'another problem' })).toEqual({ kind: 'posted' });
    expect(api.events().map((event) => [event['reason'], (event['involvedObject'] as Record<string, unknown>)['kind'], (event['involvedObject'] as Record<string, unknown>)['uid']])).toEqual([
      ['InvalidTrustPolicy', 'ConfigMap', 'u-1'],
      ['InvalidTrustPolicy', 'ConfigMap', 'u-1'],
    ]);
  });
});
