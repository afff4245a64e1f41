// Child processes of the test helpers that run real servers (registry-server.ts, notary-server.ts):
// started with their output kept for error messages, stopped with SIGTERM then SIGKILL after a
// timeout, and killed if the test process exits without stopping them.

import { spawn } from 'node:child_process';
import type { ChildProcess, SpawnOptions } from 'node:child_process';

const STOP_TIMEOUT_MS = 5_000;

/** Children still running, killed if the test process exits without stopping them. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export interface Started {
  readonly child: ChildProcess;
  /** The last 4000 characters of stdout and stderr together. */
  readonly output: () => string;
}

/** Spawns `binary` (stdin ignored, stdout and stderr kept) and tracks it until stopChild. */
export function launch(binary: string, args: readonly string[], options: Omit<SpawnOptions, 'stdio'> = {}): Started {
  const child = spawn(binary, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { child, output: () => output };
}

export function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** SIGTERM, then SIGKILL if the child has not exited within `timeoutMs`; resolves once it has exited. */
export async function stopChild(child: ChildProcess, timeoutMs = STOP_TIMEOUT_MS): Promise<void> {
  if (exited(child)) {
    running.delete(child);
    return;
  }
  const exit = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  if ((await Promise.race([exit.then(() => 'exited' as const), timedOut])) === 'timeout') {
    child.kill('SIGKILL');
    await exit;
  }
  clearTimeout(timer);
  running.delete(child);
}
