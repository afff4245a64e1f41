// RegistryClient.accessIdentity names the credentials requests to a registry carry; the pipeline's
// caches are keyed by it (test/guarantees/credential-scope.test.ts shows why end to end).
import { RegistryClient } from '../../src/registry/client.js';

const dockerConfig = (host: string, user: string, password: string): string =>
  JSON.stringify({ auths: { [host]: { auth: Buffer.from(`${user}:${password}`).toString('base64') } } });

describe('accessIdentity', () => {
  test('anonymous without credentials; a stable hash that never shows the secret with them', () => {
    const anonymous = new RegistryClient();
    expect(anonymous.accessIdentity('registry.example')).toBe('anonymous');
    const configured = new RegistryClient({ dockerConfigJson: dockerConfig('registry.example', 'ci', 'S3cret-pw') });
    const identity = configured.accessIdentity('registry.example');
    expect(identity).toMatch(/^[0-9a-f]{32}$/);
    expect(identity).not.toContain('S3cret');
    expect(new RegistryClient({ dockerConfigJson: dockerConfig('registry.example', 'ci', 'S3cret-pw') }).accessIdentity('registry.example')).toBe(identity);
    // Other hosts are still reached anonymously.
    expect(configured.accessIdentity('other.example')).toBe('anonymous');
  });

  test("a pod's pull secret gives another identity for its registry only; a different password is a different identity", () => {
    const root = new RegistryClient({ dockerConfigJson: dockerConfig('registry.example', 'ci', 'one') });
    const pod = root.withCredentials(new Map([['private.example', { username: 'team', password: 'two' }]]));
    expect(pod.accessIdentity('registry.example')).toBe(root.accessIdentity('registry.example'));
    expect(pod.accessIdentity('private.example')).not.toBe('anonymous');
    const other = root.withCredentials(new Map([['private.example', { username: 'team', password: 'three' }]]));
    expect(other.accessIdentity('private.example')).not.toBe(pod.accessIdentity('private.example'));
    expect(root.withCredentials(new Map()).accessIdentity('private.example')).toBe('anonymous');
  });

  test('credentials configured for a host win over a pod secret for it, and the identity says so', () => {
    const root = new RegistryClient({ hosts: { 'registry.example': { credentials: { username: 'ops', password: 'configured' } } } });
    const pod = root.withCredentials(new Map([['registry.example', { username: 'team', password: 'pod' }]]));
    expect(pod.accessIdentity('registry.example')).toBe(root.accessIdentity('registry.example'));
  });
});
