// The ceiling Signet's warm path is measured against: a bare fastify HTTPS server, same TLS material
// and settings as the webhook, that parses the AdmissionReview JSON and allows it by uid. Nothing a
// webhook could skip is left in, nothing it must do is added; whatever Signet costs above this is its own.
//
//   node baseline-server.js --tls-cert FILE --tls-key FILE   → prints {"port": N} on its first stdout line
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import Fastify from 'fastify';
import { httpsOptions } from '../src/server/tls-options.js';

const { values } = parseArgs({ options: { 'tls-cert': { type: 'string' }, 'tls-key': { type: 'string' } } });
const certPath = values['tls-cert'];
const keyPath = values['tls-key'];
if (certPath === undefined || keyPath === undefined) {
  process.stderr.write('baseline-server: --tls-cert and --tls-key are required\n');
  process.exit(2);
}

const app = Fastify({ logger: false, bodyLimit: 4 * 1024 * 1024, https: httpsOptions(readFileSync(certPath, 'utf8'), readFileSync(keyPath, 'utf8')) });

app.get('/healthz', async () => ({ status: 'ok' }));
app.post('/validate', async (req, reply) => {
  const request = (req.body as { request?: { uid?: unknown } } | null)?.request;
  if (typeof request?.uid !== 'string') return reply.code(400).send({ error: 'BadRequest', message: 'not an AdmissionReview' });
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: request.uid, allowed: true } };
});

const stop = (): void => {
  void app.close();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);

await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
if (address === null || typeof address === 'string') throw new Error('no port');
process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
