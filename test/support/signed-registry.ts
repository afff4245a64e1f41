// A real docker-registry holding a few images, some signed by `signet sign`'s code path with
// freshly generated keys, plus a policy file trusting one of them. Shared by server and CLI tests.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair, decryptPrivateKey } from '../../src/signatures/cosign/private-key.js';
import { RegistryClient } from '../../src/registry/client.js';
import { parseReference } from '../../src/reference/parse.js';
import { signImage } from '../../src/signing/sign.js';
import { startRegistry, type RunningRegistry } from './registry-server.js';
import { buildOciLayout, pushImage } from './oci-image.js';

export interface SignedRegistry {
  readonly registry: RunningRegistry;
  readonly dir: string;
  /** Image references by name: signed, unsigned, untrusted (signed by a key the policy does not trust). */
  readonly images: Readonly<Record<'signed' | 'signed2' | 'unsigned' | 'untrusted', string>>;
  readonly digests: Readonly<Record<'signed' | 'signed2' | 'unsigned' | 'untrusted', string>>;
  readonly policyPath: string;
  /** Writes a policy with these rules (YAML text after `rules:`), trusting key `release`. */
  writePolicy(rulesYaml: string, extra?: string): string;
  stop(): Promise<void>;
}

export async function startSignedRegistry(): Promise<SignedRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'signet-signed-'));
  const registry = await startRegistry();
  const release = generateKeyPair('pw');
  const stranger = generateKeyPair('pw');
  writeFileSync(join(dir, 'release.pub'), release.publicKeyPem);
  writeFileSync(join(dir, 'release.key'), release.privateKeyPem);
  const names = ['signed', 'signed2', 'unsigned', 'untrusted'] as const;
  const images = {} as Record<(typeof names)[number], string>;
  const digests = {} as Record<(typeof names)[number], string>;
  const client = new RegistryClient({ hosts: { [registry.host]: { insecureHttp: true } } });
  try {
    for (const name of names) {
      const layout = await buildOciLayout(join(dir, `layout-${name}`), { seed: `signed-registry-${name}` });
      images[name] = `${registry.host}/apps/${name}:v1`;
      digests[name] = await pushImage(layout, registry, `apps/${name}:v1`);
      const key = name === 'unsigned' ? undefined : name === 'untrusted' ? stranger : release;
      if (!key) continue;
      const privateKey = decryptPrivateKey(key.privateKeyPem, 'pw');
      const ref = parseReference(images[name]);
      if (!privateKey.ok || !ref.ok) throw new Error('fixture keys or reference invalid');
      const signed = await signImage({ client, ref: ref.value, privateKey: privateKey.value, annotations: {} });
      if (!signed.ok) throw new Error(`signing fixture failed: ${signed.error.message}`);
    }
  } finally {
    await client.close();
  }
  const writePolicy = (rulesYaml: string, extra = ''): string => {
    const path = join(dir, `policy-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(path, `apiVersion: signet.dev/v1alpha1\nkind: ImagePolicy\nmetadata: {name: test}\nkeys:\n  release: {file: release.pub}\n${extra}rules:\n${rulesYaml}`);
    return path;
  };
  const policyPath = writePolicy(`  - name: apps\n    images: ["${registry.host}/apps/**"]\n    verify:\n      - type: cosign\n        keys: [release]\n`);
  return {
    registry,
    dir,
    images,
    digests,
    policyPath,
    writePolicy,
    stop: async () => {
      await registry.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
