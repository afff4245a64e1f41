// Registry access settings shared by the commands that talk to registries.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { RegistryClientOptions, RegistryHostConfig } from '../registry/types.js';
import { UsageError } from './io.js';

export const REGISTRY_FLAGS = {
  'insecure-registry': { type: 'string', multiple: true },
  'ca-file': { type: 'string' },
  'docker-config': { type: 'string' },
  timeout: { type: 'string' },
} as const;

export interface RegistryFlagValues {
  'insecure-registry'?: string[] | undefined;
  'ca-file'?: string | undefined;
  'docker-config'?: string | undefined;
  timeout?: string | undefined;
}

/** Builds client options for the registries the command will contact. */
export function registryOptions(flags: RegistryFlagValues, env: Readonly<Record<string, string | undefined>>): RegistryClientOptions {
  const insecure = new Set([...(flags['insecure-registry'] ?? []), ...splitList(env['SIGNET_INSECURE_REGISTRIES'])]);
  const caFile = flags['ca-file'] ?? env['SIGNET_CA_FILE'];
  const caBundle = caFile ? readText(caFile, '--ca-file') : undefined;
  const hosts: Record<string, RegistryHostConfig> = {};
  for (const registry of insecure) hosts[registry] = { insecureHttp: true };
  const options: RegistryClientOptions = { hosts, ...(caBundle ? { caBundle } : {}) };
  const dockerConfig = flags['docker-config'] ?? defaultDockerConfig(env);
  if (dockerConfig) options.dockerConfigJson = readText(dockerConfig, '--docker-config');
  return options;
}

export function timeoutMs(flags: RegistryFlagValues, fallbackMs: number): number {
  if (flags.timeout === undefined) return fallbackMs;
  const m = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(flags.timeout);
  if (!m) throw new UsageError(`--timeout must be a duration like 10s or 500ms, got "${flags.timeout}"`);
  const value = Number(m[1]) * (m[2] === 'ms' ? 1 : 1000);
  if (value <= 0 || value > 600_000) throw new UsageError('--timeout must be between 1ms and 600s');
  return value;
}

function defaultDockerConfig(env: Readonly<Record<string, string | undefined>>): string | undefined {
  const dir = env['DOCKER_CONFIG'] ?? join(env['HOME'] ?? homedir(), '.docker');
  const path = join(dir, 'config.json');
  return existsSync(path) ? path : undefined;
}

function splitList(value: string | undefined): string[] {
  return (value ?? '').split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

function readText(path: string, flag: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`${flag}: cannot read ${path}: ${(e as Error).message}`);
  }
}
