// Serving certificate from files, re-read when they change on disk (cert-manager renewals, the
// kubelet's atomic `..data` symlink swap of a mounted Secret) so rotation needs no restart.
// Polling is used on purpose: inotify misses symlink swaps and does not work on every volume type.
import { createSecureContext } from 'node:tls';
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { pollEvery } from '../util/poll.js';

export interface TlsMaterial {
  readonly cert: string;
  readonly key: string;
}

export async function readTlsFiles(certPath: string, keyPath: string): Promise<TlsMaterial> {
  const [cert, key] = await Promise.all([readFile(certPath, 'utf8'), readFile(keyPath, 'utf8')]);
  // Fails now, with the file names, rather than at the first handshake.
  createSecureContext({ cert, key });
  return { cert, key };
}

export interface TlsWatcher {
  stop(): void;
}

/**
 * Polls the files; when their content changes and the new pair is valid, calls onChange.
 * A half-written rotation (new cert, old key) is skipped until both files agree.
 */
export function watchTlsFiles(
  certPath: string,
  keyPath: string,
  initial: TlsMaterial,
  intervalMs: number,
  onChange: (material: TlsMaterial) => void,
  onError: (error: Error) => void,
): TlsWatcher {
  let current = fingerprint(initial);
  let lastError = '';
  return pollEvery(intervalMs, () =>
    readTlsFiles(certPath, keyPath)
      .then((material) => {
        lastError = '';
        const next = fingerprint(material);
        if (next === current) return;
        current = next;
        onChange(material);
      })
      .catch((e: unknown) => {
        const message = e instanceof Error ? e.message : String(e);
        // Report each distinct problem once, not every poll.
        if (message !== lastError) onError(e instanceof Error ? e : new Error(message));
        lastError = message;
      }),
  );
}

function fingerprint(m: TlsMaterial): string {
  return createHash('sha256').update(m.cert).update('\0').update(m.key).digest('hex');
}
