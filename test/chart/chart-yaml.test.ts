// Chart.yaml: what `helm lint` and `helm package` check first, and what the chart promises about versions.
import { readFileSync } from 'node:fs';
import { describeHelm, readChartYaml, runHelm, CHART_DIR } from './support/helm.js';

// Semantic Versioning 2.0.0 (semver.org), which Helm requires for `version`.
const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

describe('charts/signet/Chart.yaml', () => {
  const chart = readChartYaml();

  it('is an apiVersion v2 application chart named signet, like its directory', () => {
    expect(chart['apiVersion']).toBe('v2');
    expect(chart['type']).toBe('application');
    expect(chart['name']).toBe('signet');
    expect(typeof chart['description']).toBe('string');
  });

  it('has a SemVer 2 version and a string appVersion equal to the package version', () => {
    expect(String(chart['version'])).toMatch(SEMVER);
    expect(typeof chart['appVersion']).toBe('string');
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(chart['appVersion']).toBe(pkg.version);
  });

  it('requires Kubernetes 1.30 or newer (matchConditions GA, preStop sleep action)', () => {
    expect(chart['kubeVersion']).toBe('>=1.30.0-0');
  });

  it('rejects a version that is not SemVer (the pattern is not vacuous)', () => {
    for (const bad of ['1.0', 'v1.0.0', '01.0.0', '1.0.0-']) expect(bad).not.toMatch(SEMVER);
  });
});

describeHelm('charts/signet/Chart.yaml read by the real Helm', () => {
  it('renders for Kubernetes 1.30 and is refused for 1.29, with the reason', async () => {
    expect((await runHelm(['template', 'signet', CHART_DIR, '--kube-version', '1.30.0'])).ok).toBe(true);
    const old = await runHelm(['template', 'signet', CHART_DIR, '--kube-version', '1.29.0']);
    expect(old.ok).toBe(false);
    expect(old.stderr).toContain('chart requires kubeVersion: >=1.30.0-0 which is incompatible with Kubernetes v1.29.0');
  });

  it('helm show chart reads the version Chart.yaml declares', async () => {
    const out = await runHelm(['show', 'chart', CHART_DIR]);
    expect(out.ok).toBe(true);
    expect(out.stdout).toContain(`version: ${String(readChartYaml()['version'])}`);
  });
});
