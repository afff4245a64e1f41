// `helm test`: asks the API server to create a Pod naming TEST_IMAGE in TEST_NAMESPACE as a dry run
// (nothing is created or pulled) and passes when Signet denies it, or, with ALLOW_WARNING=true, when
// Signet warns that it would deny it (a policy in warn mode). Anything else fails with what the API
// server answered: admitted silently means the webhook was not asked or the policy admits the image.
// Runs in the webhook's own image (distroless Node, no shell) with the test's service account.
'use strict';
const { readFileSync } = require('node:fs');
const https = require('node:https');

const accountDir = process.env.SERVICE_ACCOUNT_DIR || '/var/run/secrets/kubernetes.io/serviceaccount';
const namespace = process.env.TEST_NAMESPACE;
const image = process.env.TEST_IMAGE;
const webhook = process.env.WEBHOOK_NAME || 'verify-images.signet.dev';
const allowWarning = process.env.ALLOW_WARNING === 'true';

function finish(passed, text) {
  process.stdout.write(`${passed ? 'PASS' : 'FAIL'}: ${text}\n`);
  process.exit(passed ? 0 : 1);
}

if (process.env.NOT_COVERED) finish(false, process.env.NOT_COVERED);

const pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { generateName: 'signet-helm-test-', namespace, labels: { 'app.kubernetes.io/name': 'signet-helm-test' } },
  spec: { containers: [{ name: 'probe', image }] },
};
const body = JSON.stringify(pod);
const request = https.request(
  {
    host: process.env.KUBERNETES_SERVICE_HOST,
    port: process.env.KUBERNETES_SERVICE_PORT,
    method: 'POST',
    path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods?dryRun=All`,
    ca: readFileSync(`${accountDir}/ca.crt`),
    headers: {
      authorization: `Bearer ${readFileSync(`${accountDir}/token`, 'utf8').trim()}`,
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
    },
    timeout: 60_000,
  },
  (response) => {
    let text = '';
    response.setEncoding('utf8');
    response.on('data', (chunk) => {
      if (text.length < 65_536) text += chunk;
    });
    response.on('end', () => {
      let message = '';
      try {
        message = String(JSON.parse(text).message || '');
      } catch {
        message = text.slice(0, 500);
      }
      const warnings = [].concat(response.headers.warning || []).join('\n');
      if (response.statusCode === 403 && message.includes(`admission webhook "${webhook}" denied the request`)) {
        finish(true, `Signet denied a Pod naming ${image} in namespace ${namespace}: ${message}`);
      }
      if (response.statusCode === 201 && /signet \w+: probe \(.*would be denied/.test(warnings)) {
        if (allowWarning) finish(true, `Signet would deny ${image} (the policy only warns): ${warnings}`);
        finish(false, `Signet only warned about ${image} (the policy is in warn mode; tests.allowWarning is false): ${warnings}`);
      }
      if (response.statusCode === 201) {
        finish(false, `a Pod naming ${image} in namespace ${namespace} was admitted without a denial from ${webhook}: the webhook was not asked, or the policy admits that image (set tests.image to one it must refuse)${warnings ? `; warnings: ${warnings}` : ''}`);
      }
      finish(false, `the API server answered ${response.statusCode}, not a denial by ${webhook}: ${message}`);
    });
  },
);
request.on('timeout', () => request.destroy(new Error('no answer within 60 s')));
request.on('error', (error) => finish(false, `cannot reach the API server: ${error.message}`));
request.end(body);
