// The fake API server behaves like kube-apiserver where Signet depends on it: bearer auth, label
// selectors (equality and set-based), list resourceVersion and 410 on an expired exact list, watch
// replay from a resourceVersion with selector transitions, ERROR 410 for a compacted one, timeoutSeconds.
import { Agent, request } from 'undici';
import { parseLabelSelector, startFakeKubeApi, type FakeKubeApi } from '../support/fake-kube-api.js';
import { haveTools } from '../support/registry-server.js';

const maybe = haveTools('openssl') ? describe : describe.skip;

maybe('fake kube-apiserver', () => {
  let api: FakeKubeApi;
  let dispatcher: Agent;
  beforeAll(async () => {
    api = await startFakeKubeApi();
    dispatcher = new Agent({ connect: { ca: api.caPem } });
  });
  afterAll(async () => {
    await dispatcher.close();
    await api.close();
  });

  async function get(path: string, token = api.token): Promise<{ status: number; body: string }> {
    const response = await request(`${api.url}${path}`, { dispatcher, headers: { authorization: `Bearer ${token}` }, bodyTimeout: 3000, headersTimeout: 3000 });
    return { status: response.statusCode, body: await response.body.text() };
  }

  test('a missing or wrong token is 401 with a Status body', async () => {
    const answer = await get('/api/v1/configmaps', 'wrong');
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body)).toMatchObject({ kind: 'Status', code: 401, reason: 'Unauthorized' });
  });

  test('label selectors: equality, inequality, set-based, existence', async () => {
    api.putConfigMap({ namespace: 'a', name: 'one', labels: { tier: 'x', 'signet.dev/trust': 'tenant' } });
    api.putConfigMap({ namespace: 'a', name: 'two', labels: { tier: 'y' } });
    api.putConfigMap({ namespace: 'b', name: 'three', labels: {} });
    const names = async (selector: string): Promise<string[]> => {
      const answer = await get(`/api/v1/configmaps?labelSelector=${encodeURIComponent(selector)}`);
      return (JSON.parse(answer.body) as { items: { metadata: { name: string } }[] }).items.map((item) => item.metadata.name);
    };
    expect(await names('signet.dev/trust=tenant')).toEqual(['one']);
    expect(await names('tier!=x')).toEqual(['two', 'three']);
    expect(await names('tier in (x, y)')).toEqual(['one', 'two']);
    expect(await names('tier notin (x),!signet.dev/trust')).toEqual(['two', 'three']);
    expect(await names('tier')).toEqual(['one', 'two']);
    expect(typeof parseLabelSelector('tier in x')).toBe('string');
    expect((await get(`/api/v1/configmaps?labelSelector=${encodeURIComponent('bad key=1')}`)).status).toBe(400);
  });

  test('lists carry the current resourceVersion; an exact list of a compacted version is 410', async () => {
    const list = JSON.parse((await get('/api/v1/namespaces/a/configmaps')).body) as { metadata: { resourceVersion: string }; items: unknown[] };
    expect(list.metadata.resourceVersion).toBe(String(api.resourceVersion()));
    expect(list.items).toHaveLength(2);
    const old = Number(list.metadata.resourceVersion) - 1;
    api.compact();
    const expired = await get(`/api/v1/namespaces/a/configmaps?resourceVersion=${old}&resourceVersionMatch=Exact`);
    expect(expired.status).toBe(410);
    expect(JSON.parse(expired.body)).toMatchObject({ code: 410, reason: 'Expired' });
  });

  test('a watch replays from its resourceVersion, turns selector changes into ADDED/DELETED, and ends at timeoutSeconds', async () => {
    const from = api.resourceVersion();
    api.putConfigMap({ namespace: 'w', name: 'cm', labels: { pick: 'yes' }, data: { v: '1' } });
    api.putConfigMap({ namespace: 'w', name: 'cm', labels: { pick: 'no' }, data: { v: '2' } });
    api.putConfigMap({ namespace: 'w', name: 'cm', labels: { pick: 'yes' }, data: { v: '3' } });
    api.deleteConfigMap('w', 'cm');
    const started = Date.now();
    const answer = await get(`/api/v1/namespaces/w/configmaps?watch=true&resourceVersion=${from}&labelSelector=pick%3Dyes&timeoutSeconds=1`);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    const events = answer.body
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; object: { metadata: { resourceVersion: string }; data?: { v: string } } });
    expect(events.map((event) => [event.type, event.object.data?.v])).toEqual([
      ['ADDED', '1'],
      ['DELETED', '1'],
      ['ADDED', '3'],
      ['DELETED', '3'],
    ]);
    expect(events.map((event) => Number(event.object.metadata.resourceVersion))).toEqual([from + 1, from + 2, from + 3, from + 4]);
  });

  test('a watch from a compacted resourceVersion gets an ERROR event with a 410 Status, then the end', async () => {
    const old = api.resourceVersion();
    api.putConfigMap({ namespace: 'w', name: 'later' });
    api.compact();
    const answer = await get(`/api/v1/namespaces/w/configmaps?watch=true&resourceVersion=${old}`);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body.trim())).toMatchObject({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
  });

  test('events are validated like the real server: namespace must match the involved object', async () => {
    const post = async (namespace: string, involvedNamespace: string | undefined): Promise<number> => {
      const response = await request(`${api.url}/api/v1/namespaces/${namespace}/events`, {
        dispatcher,
        method: 'POST',
        headers: { authorization: `Bearer ${api.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ metadata: { name: 'x.1' }, involvedObject: { kind: 'Pod', name: 'x', ...(involvedNamespace !== undefined ? { namespace: involvedNamespace } : {}) }, reason: 'R', type: 'Warning', message: 'm' }),
      });
      await response.body.dump();
      return response.statusCode;
    };
    expect(await post('a', 'a')).toBe(201);
    expect(await post('a', 'b')).toBe(422);
    expect(await post('a', undefined)).toBe(422);
    expect(await post('default', undefined)).toBe(201);
  });
});
