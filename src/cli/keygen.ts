// `signet keygen`: an ECDSA P-256 key pair in cosign's file formats.
import { existsSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { generateKeyPair } from '../signatures/cosign/private-key.js';
import { EXIT_OK, UsageError, type CliIO } from './io.js';

export const KEYGEN_USAGE = `Usage: signet keygen [--output-key-prefix NAME] [--force]
Writes NAME.key (encrypted, cosign format) and NAME.pub (PEM public key). Passphrase from SIGNET_PASSWORD or a prompt.`;

export async function keygenCommand(args: string[], io: CliIO): Promise<number> {
  const { values } = parseArgs({ args, options: { 'output-key-prefix': { type: 'string', default: 'cosign' }, force: { type: 'boolean', default: false } } });
  const prefix = values['output-key-prefix'];
  const keyPath = `${prefix}.key`;
  const pubPath = `${prefix}.pub`;
  if (!values.force && (existsSync(keyPath) || existsSync(pubPath))) {
    throw new UsageError(`${keyPath} or ${pubPath} exists; pass --force to overwrite`);
  }
  const password = await newPassword(io);
  const pair = generateKeyPair(password);
  writeFileSync(keyPath, pair.privateKeyPem, { mode: 0o600 });
  writeFileSync(pubPath, pair.publicKeyPem, { mode: 0o644 });
  io.stderr(`Private key written to ${keyPath}\nPublic key written to ${pubPath}\n`);
  return EXIT_OK;
}

async function newPassword(io: CliIO): Promise<string> {
  const fromEnv = io.env['SIGNET_PASSWORD'] ?? io.env['COSIGN_PASSWORD'];
  if (fromEnv !== undefined) return fromEnv;
  if (!io.promptSecret) throw new UsageError('no terminal to ask for a passphrase: set SIGNET_PASSWORD');
  const first = await io.promptSecret('Enter passphrase for the private key: ');
  const again = await io.promptSecret('Enter it again: ');
  if (first !== again) throw new UsageError('the passphrases do not match');
  return first;
}

export async function existingPassword(io: CliIO): Promise<string> {
  const fromEnv = io.env['SIGNET_PASSWORD'] ?? io.env['COSIGN_PASSWORD'];
  if (fromEnv !== undefined) return fromEnv;
  if (!io.promptSecret) throw new UsageError('no terminal to ask for the passphrase: set SIGNET_PASSWORD');
  return io.promptSecret('Enter passphrase for the private key: ');
}
