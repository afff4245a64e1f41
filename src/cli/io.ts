// The CLI's window on the world, injected so tests run commands in-process with real effects
// (files, registries) but captured output.
export interface CliIO {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Reads a secret without echo; undefined when there is no terminal to ask on. */
  readonly promptSecret?: (question: string) => Promise<string>;
}

export const EXIT_OK = 0;
export const EXIT_DENIED = 1;
export const EXIT_USAGE = 2;

export class UsageError extends Error {}
