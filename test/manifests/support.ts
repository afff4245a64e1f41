// Shared by the manifest tests: reading manifests/*.yaml and running manifests/gen-certs.sh on a copy.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import type { K8sObject } from '../chart/support/helm.js';

export const MANIFESTS_DIR = fileURLToPath(new URL('../../manifests', import.meta.url));
export const GEN_CERTS = join(MANIFESTS_DIR, 'gen-certs.sh');

export interface ManifestDocument {
  readonly file: string;
  readonly object: K8sObject;
}

/** Every YAML document of the .yaml files in `dir`, in the order `kubectl apply -f dir` reads them. */
export function readManifests(dir: string = MANIFESTS_DIR): ManifestDocument[] {
  const documents: ManifestDocument[] = [];
  for (const file of readdirSync(dir).filter((f) => /\.(ya?ml|json)$/.test(f)).sort()) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, file), 'utf8'), { uniqueKeys: true })) {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
      const object = doc.toJS() as unknown;
      if (object !== null && object !== undefined) documents.push({ file, object: object as K8sObject });
    }
  }
  return documents;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `signet-${prefix}-`));
}

/** A copy of manifests/ to let gen-certs.sh patch. */
export function copyManifests(into: string): string {
  const dir = join(into, 'manifests');
  cpSync(MANIFESTS_DIR, dir, { recursive: true });
  return dir;
}

export interface ScriptRun {
  readonly status: number | null;
  readonly stderr: string;
}

export function runGenCerts(args: readonly string[], env: Readonly<Record<string, string>> = {}): ScriptRun {
  const result = spawnSync('/bin/sh', [GEN_CERTS, ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env } });
  return { status: result.status, stderr: result.stderr };
}

/** A PATH holding only the tools gen-certs.sh uses, so "no kubectl" can be tested on any machine. */
export function pathWithoutKubectl(into: string): string {
  const bin = join(into, 'bin');
  mkdirSync(bin);
  for (const tool of ['dirname', 'grep', 'openssl', 'mktemp', 'cp', 'cut', 'sed', 'cat', 'chmod', 'mkdir', 'rm']) {
    const found = (process.env['PATH'] ?? '').split(delimiter).map((d) => join(d, tool)).find((p) => existsSync(p));
    if (!found) throw new Error(`${tool} not found on PATH`);
    symlinkSync(found, join(bin, tool));
  }
  return bin;
}
