// What every benchmark section gets from the harness: settings, the registry (behind its logging
// proxy), the image factory, and a way to start a fresh webhook process.
import type { KeyObject } from 'node:crypto';
import type { ImageFactory } from './images.js';
import type { RegistryProxy, TlsFiles, Webhook } from './servers.js';
import type { RunningRegistry } from '../test/support/registry-server.js';

export interface BenchSettings {
  /** Seconds each autocannon cell is measured, after warmUpSeconds at the same concurrency. */
  readonly cellSeconds: number;
  readonly warmUpSeconds: number;
  /** Rounds of the warm matrix; servers alternate order each round. */
  readonly rounds: number;
  readonly concurrencies: readonly number[];
  readonly coldIterations: number;
  readonly burstSize: number;
  readonly manyImages: number;
  /** Reviews in flight while reviewing the many images. */
  readonly manyConcurrency: number;
  /** Repositories the many images are spread over. */
  readonly manyRepositories: number;
  /** At most this many passes over the many images after the cold one (all answered from the caches), stopping once RSS settles. */
  readonly manyMaxCachedPasses: number;
  /** Images pushed and signed in parallel. */
  readonly pushConcurrency: number;
  /** The webhook's SIGNET_LOG_LEVEL (info: one line per decision, as in production). */
  readonly logLevel: string;
  /** Restart storm: pod reviews, distinct images, reviews in flight across the replicas. */
  readonly stormReviews: number;
  readonly stormImages: number;
  readonly stormConcurrency: number;
  /** Soak: seconds, and the rate (undefined: half the warm maximum measured in the same run, else 700/s). */
  readonly soakSeconds: number;
  readonly soakRate: number | undefined;
  /** Which sections run (BENCH_SECTIONS); all by default. */
  readonly sections: ReadonlySet<'warm' | 'cold' | 'burst' | 'many' | 'storm' | 'soak'>;
  /** Run each webhook with --cpu-prof (BENCH_PROFILE=1); profiles go to bench/results/profiles/. */
  readonly profile: boolean;
  /** Extra node flags for every webhook process (BENCH_WEBHOOK_NODE_ARGS, space-separated), e.g. heap sizing. */
  readonly webhookNodeArgs: readonly string[];
}

export interface BenchContext {
  readonly settings: BenchSettings;
  /** The repository checkout (holds dist/ and dist-bench/). */
  readonly root: string;
  /** Where the child processes' logs go (kept on failure for diagnosis). */
  readonly logDir: string;
  readonly tls: TlsFiles;
  readonly registry: RunningRegistry;
  readonly proxy: RegistryProxy;
  readonly factory: ImageFactory;
  /** The key the policy trusts, parsed once (for the floor client). */
  readonly publicKey: KeyObject;
  startWebhook(name: string, serveArgs?: readonly string[]): Promise<Webhook>;
  progress(message: string): void;
}
