// The ConfigMap watcher against the fake API server: list then watch, resume without relist, relist on
// 410 (event and HTTP), backoff through API errors, stalls, bookmarks, label and namespace scoping.
import { startFakeKubeApi, waitFor, type FakeKubeApi } from '../support/fake-kube-api.js';
import { watchConfigMaps, type ConfigMapWatcher, type TrustConfigMap, type WatcherEvent, type WatchTuning } from '../../src/kube/configmaps.js';
import { haveTools } from '../support/registry-server.js';
import { CoreV1Api, makeInformer, type V1ConfigMap } from '@kubernetes/client-node';

const maybe = haveTools('openssl') ? describe : describe.skip;

const FAST: Partial<WatchTuning> = {
  debounceMs: 20,
  watchTimeoutSeconds: 5,
  stallGraceMs: 300,
  requestTimeoutMs: 2000,
  backoffInitialMs: 50,
  backoffMaxMs: 400,
  backoffJitter: 0,
};
const CLUSTER = { 'signet.dev/trust': 'cluster' };

interface Harness {
  readonly watcher: ConfigMapWatcher;
  readonly snapshots: (readonly TrustConfigMap[])[];
  readonly events: WatcherEvent[];
  latest(): readonly TrustConfigMap[];
  names(): string[];
}

maybe('ConfigMap watcher', () => {
  let api: FakeKubeApi;
  const running: ConfigMapWatcher[] = [];

  beforeEach(async () => {
    api = await startFakeKubeApi({ bookmarkIntervalMs: 100 });
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((watcher) => watcher.stop()));
    await api.close();
  });

  function start(options: { namespace?: string | undefined; selector?: string; tuning?: Partial<WatchTuning>; token?: string } = {}): Harness {
    const snapshots: (readonly TrustConfigMap[])[] = [];
    const events: WatcherEvent[] = [];
    const watcher = watchConfigMaps({
      kubeConfig: api.kubeConfig(options.token),
      namespace: 'namespace' in options ? options.namespace : 'signet',
      labelSelector: options.selector ?? 'signet.dev/trust=cluster',
      onSnapshot: (items) => snapshots.push(items),
      onEvent: (event) => events.push(event),
      tuning: { ...FAST, ...options.tuning },
    });
    running.push(watcher);
    const latest = (): readonly TrustConfigMap[] => snapshots[snapshots.length - 1] ?? [];
    return { watcher, snapshots, events, latest, names: () => latest().map((item) => `${item.namespace}/${item.name}`) };
  }

  test('lists, then delivers changes from the watch, selecting by label and namespace', async () => {
    api.putConfigMap({ namespace: 'signet', name: 'trust', labels: CLUSTER, data: { 'policy.yaml': 'v1' } });
    api.putConfigMap({ namespace: 'signet', name: 'kube-root-ca.crt', data: { 'ca.crt': 'x' } });
    api.putConfigMap({ namespace: 'other', name: 'elsewhere', labels: CLUSTER, data: {} });
    const h = start();
    await h.watcher.synced();
    expect(h.names()).toEqual(['signet/trust']);
    expect(h.latest()[0]?.data).toEqual({ 'policy.yaml': 'v1' });
    expect(h.watcher.healthy()).toBe(true);

    api.putConfigMap({ namespace: 'signet', name: 'trust', labels: CLUSTER, data: { 'policy.yaml': 'v2' } });
    api.putConfigMap({ namespace: 'signet', name: 'keys', labels: CLUSTER, data: { 'a.pub': 'A' } });
    await waitFor('the update and the new ConfigMap', () => h.latest()[1]?.data['policy.yaml'] === 'v2' && h.names().length === 2);
    expect(h.names()).toEqual(['signet/keys', 'signet/trust']);

    // Losing the label is a deletion for this watcher.
    api.putConfigMap({ namespace: 'signet', name: 'keys', data: { 'a.pub': 'A' } });
    await waitFor('the relabelled ConfigMap to leave', () => h.names().length === 1);
    api.deleteConfigMap('signet', 'trust');
    await waitFor('the deletion', () => h.names().length === 0);

    const lists = api.requests('list');
    expect(lists).toHaveLength(1);
    expect(lists[0]?.path).toBe('/api/v1/namespaces/signet/configmaps');
    expect(lists[0]?.query['labelSelector']).toBe('signet.dev/trust=cluster');
    const watch = api.requests('watch')[0];
    expect(watch?.query).toMatchObject({ allowWatchBookmarks: 'true', timeoutSeconds: '5', labelSelector: 'signet.dev/trust=cluster' });
  });

  test('watches every namespace when no namespace is given', async () => {
    api.putConfigMap({ namespace: 'team-a', name: 'policy', labels: { 'signet.dev/trust': 'tenant' }, data: {} });
    const h = start({ namespace: undefined, selector: 'signet.dev/trust=tenant' });
    await h.watcher.synced();
    api.putConfigMap({ namespace: 'team-b', name: 'policy', labels: { 'signet.dev/trust': 'tenant' }, data: {} });
    api.putConfigMap({ namespace: 'team-c', name: 'unlabelled', data: {} });
    await waitFor('team-b', () => h.names().length === 2);
    expect(h.names()).toEqual(['team-a/policy', 'team-b/policy']);
    expect(api.requests('list')[0]?.path).toBe('/api/v1/configmaps');
  });

  test('a dropped watch is resumed from the last resourceVersion, with no relist, and misses nothing', async () => {
    api.putConfigMap({ namespace: 'signet', name: 'trust', labels: CLUSTER, data: { v: '1' } });
    const h = start();
    await h.watcher.synced();
    await waitFor('the watch to open', () => api.openWatches() === 1);
    const seen = api.resourceVersion();

    api.dropWatches();
    // Changed while the connection is down: the resumed watch must replay it.
    api.putConfigMap({ namespace: 'signet', name: 'trust', labels: CLUSTER, data: { v: '2' } });
    await waitFor('the change made during the gap', () => h.latest()[0]?.data['v'] === '2');

    expect(api.requests('list')).toHaveLength(1);
    const watches = api.requests('watch');
    expect(watches.length).toBeGreaterThanOrEqual(2);
    // Bookmarks may have moved it on, but never past what existed before the drop.
    expect(Number(watches[1]?.query['resourceVersion'])).toBeLessThanOrEqual(seen);
    expect(Number(watches[1]?.query['resourceVersion'])).toBeGreaterThanOrEqual(seen - 1);
    expect(h.watcher.healthy()).toBe(true);
  });

  test('a watch the server ends cleanly is resumed at once, without relisting', async () => {
    const h = start();
    await h.watcher.synced();
    await waitFor('the watch to open', () => api.openWatches() === 1);
    api.endWatches();
    await waitFor('a second watch', () => api.requests('watch').length >= 2);
    api.putConfigMap({ namespace: 'signet', name: 'late', labels: CLUSTER, data: {} });
    await waitFor('the change after the resume', () => h.names().includes('signet/late'));
    expect(api.requests('list')).toHaveLength(1);
    expect(h.events.some((event) => event.kind === 'watch-ended')).toBe(true);
  });

  test.each(['event', 'http'] as const)('410 Gone (%s) relists, and objects deleted during the gap disappear', async (mode) => {
    await api.close();
    api = await startFakeKubeApi({ bookmarkIntervalMs: 60_000, expiredWatch: mode });
    api.putConfigMap({ namespace: 'signet', name: 'keep', labels: CLUSTER, data: {} });
    api.putConfigMap({ namespace: 'signet', name: 'doomed', labels: CLUSTER, data: {} });
    const h = start();
    await h.watcher.synced();
    await waitFor('the watch to open', () => api.openWatches() === 1);
    expect(h.names()).toEqual(['signet/doomed', 'signet/keep']);

    // All in one tick: the watcher reconnects only after this, with a resourceVersion that is now compacted.
    api.dropWatches();
    api.deleteConfigMap('signet', 'doomed');
    api.putConfigMap({ namespace: 'signet', name: 'added', labels: CLUSTER, data: {} });
    api.compact();

    await waitFor('the relist', () => h.names().join() === 'signet/added,signet/keep');
    expect(api.requests('list')).toHaveLength(2);
    // The drop itself may count as a failure (it came before any event); the 410 does not.
    const expiredAt = h.events.findIndex((event) => event.kind === 'expired');
    expect(expiredAt).toBeGreaterThanOrEqual(0);
    expect(h.events.slice(expiredAt).some((event) => event.kind === 'failed')).toBe(false);
    expect(h.watcher.healthy()).toBe(true);
    // After the relist it watches from the new list's resourceVersion.
    await waitFor('the watch after the relist', () => api.openWatches() === 1);
    const last = api.requests('watch').at(-1);
    expect(last?.query['resourceVersion']).toBe(String(api.resourceVersion()));
  });

  test('bookmarks keep a quiet watch current, so compaction does not force a relist', async () => {
    const h = start();
    await h.watcher.synced();
    // Changes elsewhere move the resourceVersion on; only bookmarks tell this watcher about it.
    for (let i = 0; i < 5; i += 1) api.putConfigMap({ namespace: 'other', name: `noise-${i}`, labels: CLUSTER, data: {} });
    const target = api.resourceVersion();
    await waitFor('a bookmark at the new resourceVersion', () => h.watcher.status().resourceVersion === String(target));
    api.compact();
    api.dropWatches();
    api.putConfigMap({ namespace: 'signet', name: 'after', labels: CLUSTER, data: {} });
    await waitFor('the change', () => h.names().includes('signet/after'));
    expect(api.requests('list')).toHaveLength(1);
  });

  test('API errors: unhealthy, retried with exponential backoff, then recovers', async () => {
    api.putConfigMap({ namespace: 'signet', name: 'trust', labels: CLUSTER, data: {} });
    api.failNext('list', 500, 3);
    const h = start();
    await waitFor('the first failure', () => h.events.some((event) => event.kind === 'failed'));
    expect(h.watcher.healthy()).toBe(false);
    expect(h.watcher.status().lastError).toBe('HTTP 500: injected failure 500');
    await h.watcher.synced();
    expect(h.watcher.healthy()).toBe(true);
    expect(h.names()).toEqual(['signet/trust']);

    const lists = api.requests('list');
    expect(lists.map((entry) => entry.status)).toEqual([500, 500, 500, 200]);
    const gaps = lists.slice(1).map((entry, index) => entry.at - (lists[index]?.at ?? 0));
    // 50, 100, 200 ms (jitter off), each at least its delay.
    expect(gaps[0]).toBeGreaterThanOrEqual(45);
    expect(gaps[1]).toBeGreaterThanOrEqual(95);
    expect(gaps[2]).toBeGreaterThanOrEqual(195);
    const delays = h.events.flatMap((event) => (event.kind === 'failed' ? [event.retryInMs] : []));
    expect(delays).toEqual([50, 100, 200]);

    // A refused watch: unhealthy, retried after a backoff, and the view catches up.
    api.failNext('watch', 503, 2);
    api.dropWatches();
    await waitFor('the refused watches', () => api.requests('watch').filter((entry) => entry.status === 503).length === 2);
    api.putConfigMap({ namespace: 'signet', name: 'trust', labels: CLUSTER, data: { after: 'outage' } });
    await waitFor('the change after the outage', () => h.latest()[0]?.data['after'] === 'outage');
    await waitFor('healthy again', () => h.watcher.healthy());
  });

  test('a refused token never becomes healthy; backoff is capped and it keeps trying', async () => {
    const h = start({ token: 'wrong', tuning: { backoffInitialMs: 20, backoffMaxMs: 80 } });
    await waitFor('several attempts', () => api.requests('list').length >= 5, 3000);
    expect(h.watcher.healthy()).toBe(false);
    expect(h.watcher.status()).toMatchObject({ synced: false, lastError: 'HTTP 401: Unauthorized' });
    const delays = h.events.flatMap((event) => (event.kind === 'failed' ? [event.retryInMs] : []));
    expect(delays.slice(0, 4)).toEqual([20, 40, 80, 80]);
    expect(h.snapshots).toHaveLength(0);
  });

  test('a stalled watch is detected, aborted and resumed; the change made meanwhile arrives', async () => {
    const h = start({ tuning: { watchTimeoutSeconds: 1, stallGraceMs: 300 } });
    await h.watcher.synced();
    await waitFor('the watch to open', () => api.openWatches() === 1);
    api.stallWatches(true);
    api.putConfigMap({ namespace: 'signet', name: 'during-stall', labels: CLUSTER, data: {} });
    await waitFor('the stall to be noticed', () => h.events.some((event) => event.kind === 'stalled'), 4000);
    expect(h.watcher.healthy()).toBe(false);
    expect(h.watcher.status().lastError).toBe('stalled: the watch was still open after 1300 ms, though the server was asked to end it after 1 s');
    expect(h.names()).not.toContain('signet/during-stall');
    api.stallWatches(false);
    await waitFor('the change made during the stall', () => h.names().includes('signet/during-stall'), 4000);
    await waitFor('healthy again', () => h.watcher.healthy());
    expect(api.requests('list')).toHaveLength(1);
  });

  test('bursts of changes are debounced into few snapshots, the last one complete', async () => {
    const h = start({ tuning: { debounceMs: 100 } });
    await h.watcher.synced();
    const before = h.snapshots.length;
    for (let i = 0; i < 20; i += 1) api.putConfigMap({ namespace: 'signet', name: `cm-${String(i).padStart(2, '0')}`, labels: CLUSTER, data: {} });
    await waitFor('all twenty', () => h.names().length === 20);
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(h.snapshots.length - before).toBeLessThanOrEqual(2);
  });

  test('stop() closes the watch and no snapshot follows', async () => {
    const h = start();
    await h.watcher.synced();
    await waitFor('the watch to open', () => api.openWatches() === 1);
    await h.watcher.stop();
    await waitFor('the watch to close', () => api.openWatches() === 0);
    const count = h.snapshots.length;
    api.putConfigMap({ namespace: 'signet', name: 'after-stop', labels: CLUSTER, data: {} });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(h.snapshots).toHaveLength(count);
    expect(h.watcher.healthy()).toBe(false);
  });

  // Why watchConfigMaps is our own loop (docs/kubernetes.md): checked against the installed client, so an
  // upgrade that changes this shows up here.
  test('the client informer (v2) sends no watch timeout or bookmarks, and stops for good after an API error', async () => {
    const kubeConfig = api.kubeConfig();
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const path = '/api/v1/namespaces/signet/configmaps';
    const informer = makeInformer<V1ConfigMap>(kubeConfig, path, () => core.listNamespacedConfigMap({ namespace: 'signet', labelSelector: 'signet.dev/trust=cluster' }), 'signet.dev/trust=cluster');
    const added: string[] = [];
    const errors: unknown[] = [];
    informer.on('add', (object) => added.push(object.metadata?.name ?? ''));
    informer.on('error', (error) => errors.push(error));
    await informer.start();
    await waitFor('the informer watch', () => api.openWatches() === 1);
    expect(api.requests('watch')[0]?.query).not.toHaveProperty('timeoutSeconds');
    expect(api.requests('watch')[0]?.query).not.toHaveProperty('allowWatchBookmarks');

    // A clean end is resumed; the resumed watch is refused once with a 500, and that is the end of it.
    api.failNext('watch', 500, 1);
    api.endWatches();
    await waitFor('the error callback', () => errors.length === 1);
    expect(api.requests('watch').map((entry) => entry.status)).toEqual([200, 500]);
    api.putConfigMap({ namespace: 'signet', name: 'unseen', labels: CLUSTER, data: {} });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(added).not.toContain('unseen');
    expect(api.openWatches()).toBe(0);
    expect(api.requests('watch')).toHaveLength(2);
    await informer.stop();
  });
});
