import { compactVerify } from 'jose';
import * as k8s from '@kubernetes/client-node';
import Fastify from 'fastify';

test('ESM-only dependencies load under jest', async () => {
  expect(typeof compactVerify).toBe('function');
  expect(typeof k8s.KubeConfig).toBe('function');
  const app = Fastify();
  app.get('/x', async () => ({ ok: true }));
  const res = await app.inject({ method: 'GET', url: '/x' });
  expect(res.json()).toEqual({ ok: true });
});
