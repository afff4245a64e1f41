// `make bench`: sets up a real docker-registry (behind a logging proxy) full of signed images, runs
// the webhook as `node dist/cli.js serve` over HTTPS on loopback, measures the four situations of
// issue 8 (warm cache, cold cache, burst, many images), prints a table per section with its target,
// and writes everything as JSON under bench/results/. Every process it starts is stopped on any exit.
import { createPublicKey, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { RegistryClient } from '../src/registry/client.js';
import { decryptPrivateKey, generateKeyPair } from '../src/signatures/cosign/private-key.js';
import { startRegistry, type RunningRegistry } from '../test/support/registry-server.js';
import { makeCertificates } from '../test/support/tls.js';
import type { BenchContext, BenchSettings } from './context.js';
import { ImageFactory, inParallel, type SignedImage } from './images.js';
import { stopAll } from './processes.js';
import { startRegistryProxy, startWebhook, type RegistryProxy, type Webhook } from './servers.js';
import { renderWarm, runWarm, type WarmResult } from './warm.js';
import { renderCold, runCold, type ColdResult } from './cold.js';
import { renderBurst, runBurst, type BurstResult } from './burst.js';
import { renderMany, runMany, type ManyResult } from './many.js';
import { mib } from './stats.js';
import { renderStorm, runStorm, type StormResult } from './storm.js';
import { renderSoak, runSoak, type SoakResult } from './soak.js';
import { startRedis, type RunningRedis } from '../test/support/redis-server.js';
import { Redis } from 'ioredis';

/** The whole run is abandoned (and cleaned up) past this, whatever hangs. */
const WATCHDOG_MS = 20 * 60_000;
const KEY_PASSWORD = 'bench';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The registry is not a node child (processes.ts does not track it); a signal must stop it too. */
let registryToStop: RunningRegistry | undefined;

/** The warm matrix's connection counts; the issue's targets are for 1, 16 and 64. */
function concurrenciesFromEnv(raw: string | undefined): number[] {
  if (raw === undefined || raw.trim() === '') return [1, 16, 64];
  const values = raw.split(',').map((v) => Number(v.trim()));
  if (values.some((v) => !Number.isInteger(v) || v < 1 || v > 1024)) throw new Error(`BENCH_CONCURRENCIES must be whole numbers from 1 to 1024, comma-separated, got "${raw}"`);
  return values;
}

function settingsFromEnv(): BenchSettings {
  const quick = process.env['BENCH_QUICK'] === '1';
  const num = (name: string, fallback: number): number => {
    const raw = process.env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got "${raw}"`);
    return n;
  };
  return {
    cellSeconds: num('BENCH_CELL_SECONDS', quick ? 1 : 3),
    warmUpSeconds: num('BENCH_WARMUP_SECONDS', 1),
    rounds: num('BENCH_ROUNDS', quick ? 1 : 3),
    concurrencies: concurrenciesFromEnv(process.env['BENCH_CONCURRENCIES']),
    coldIterations: num('BENCH_COLD_ITERATIONS', quick ? 10 : 30),
    burstSize: num('BENCH_BURST', 500),
    manyImages: num('BENCH_MANY_IMAGES', quick ? 200 : 1000),
    manyConcurrency: 16,
    manyRepositories: 50,
    manyMaxCachedPasses: num('BENCH_MANY_MAX_CACHED_PASSES', 10),
    stormReviews: num('BENCH_STORM_REVIEWS', quick ? 600 : 2000),
    stormImages: num('BENCH_STORM_IMAGES', 50),
    stormConcurrency: num('BENCH_STORM_CONCURRENCY', 64),
    soakSeconds: num('BENCH_SOAK_SECONDS', quick ? 30 : 300),
    soakRate: process.env['BENCH_SOAK_RATE'] ? num('BENCH_SOAK_RATE', 700) : undefined,
    pushConcurrency: 8,
    logLevel: process.env['BENCH_LOG_LEVEL'] ?? 'info',
    sections: sectionsFromEnv(process.env['BENCH_SECTIONS']),
    profile: process.env['BENCH_PROFILE'] === '1',
    // By default the webhook runs with the node flags its container image uses (Dockerfile ENTRYPOINT).
    webhookNodeArgs: (process.env['BENCH_WEBHOOK_NODE_ARGS'] ?? '--max-semi-space-size=16').split(/\s+/).filter((a) => a !== ''),
  };
}

const SECTIONS = ['warm', 'cold', 'burst', 'many', 'storm', 'soak'] as const;

function sectionsFromEnv(raw: string | undefined): ReadonlySet<(typeof SECTIONS)[number]> {
  if (raw === undefined || raw.trim() === '') return new Set(SECTIONS);
  const chosen = raw.split(',').map((s) => s.trim());
  const unknown = chosen.filter((s) => !(SECTIONS as readonly string[]).includes(s));
  if (unknown.length > 0) throw new Error(`BENCH_SECTIONS: unknown section(s) ${unknown.join(', ')}; choose from ${SECTIONS.join(', ')}`);
  return new Set(chosen as (typeof SECTIONS)[number][]);
}

interface Machine {
  readonly cores: number;
  readonly cpuModel: string;
  readonly memory: string;
  readonly kernel: string;
  readonly node: string;
  readonly registry: string;
}

function machine(): Machine {
  let registry = 'unknown';
  try {
    registry = execFileSync('/usr/bin/docker-registry', ['--version'], { encoding: 'utf8', timeout: 5000 }).trim();
  } catch {
    // Reported as unknown; startRegistry fails clearly later if the binary is missing.
  }
  return { cores: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memory: mib(totalmem()), kernel: release(), node: process.version, registry };
}

function progress(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

async function main(): Promise<number> {
  const settings = settingsFromEnv();
  const started = Date.now();
  const host = machine();
  const tmp = mkdtempSync(join(tmpdir(), 'signet-bench-'));
  const logDir = join(tmp, 'logs');
  mkdirSync(logDir);
  const dockerConfigDir = join(tmp, 'docker-config');
  mkdirSync(dockerConfigDir);
  let registry: RunningRegistry | undefined;
  let proxy: RegistryProxy | undefined;
  let client: RegistryClient | undefined;
  let redis: RunningRedis | undefined;
  const webhooks = new Set<Webhook>();
  let failed = true;
  try {
    progress(`machine: ${host.cores} cores, ${host.cpuModel}, node ${host.node}`);
    const tls = await (async () => {
      const dir = join(tmp, 'tls');
      mkdirSync(dir);
      const certs = await makeCertificates(dir);
      return { certPath: certs.certPath, keyPath: certs.keyPath, caPem: certs.caCert };
    })();

    const keys = generateKeyPair(KEY_PASSWORD);
    const privateKey = decryptPrivateKey(keys.privateKeyPem, KEY_PASSWORD);
    if (!privateKey.ok) throw new Error(`generated key does not decrypt: ${privateKey.error.message}`);
    writeFileSync(join(tmp, 'release.pub'), keys.publicKeyPem);

    registry = await startRegistry();
    registryToStop = registry;
    proxy = await startRegistryProxy(ROOT, registry.host, logDir);
    progress(`docker-registry at ${registry.host}, logging proxy at ${proxy.host}`);
    const registryHost = proxy.host;
    // Pushing and signing the fixtures is set-up, not the subject: no politeness limits towards our own registry.
    client = new RegistryClient({ hosts: { [registryHost]: { insecureHttp: true } }, maxRequestsPerSecond: 100_000, burst: 100_000 });
    const factory = new ImageFactory(client, registryHost, privateKey.value);

    const policyPath = join(tmp, 'policy.yaml');
    writeFileSync(
      policyPath,
      [
        'apiVersion: signet.dev/v1alpha1',
        'kind: ImagePolicy',
        'metadata: {name: bench}',
        'keys:',
        '  release: {file: release.pub}',
        'rules:',
        '  - name: bench-images',
        `    images: ["${registryHost}/bench/**"]`,
        '    verify:',
        '      - type: cosign',
        '        keys: [release]',
        '',
      ].join('\n'),
    );

    const ctx: BenchContext = {
      settings,
      root: ROOT,
      logDir,
      tls,
      registry,
      proxy,
      factory,
      publicKey: createPublicKey(keys.publicKeyPem),
      startWebhook: async (name, serveArgs = []) => {
        // With BENCH_PROFILE=1 each webhook writes a CPU profile when it stops (open it in Chrome DevTools).
        const nodeArgs = [
          ...settings.webhookNodeArgs,
          ...(settings.profile ? ['--cpu-prof', '--cpu-prof-dir', join(ROOT, 'bench', 'results', 'profiles'), '--cpu-prof-name', `${name}.cpuprofile`] : []),
        ];
        const webhook = await startWebhook({ root: ROOT, name, policyPath, tls, registryHost, logDir, dockerConfigDir, logLevel: settings.logLevel, nodeArgs, serveArgs });
        webhooks.add(webhook);
        return {
          ...webhook,
          stop: async () => {
            webhooks.delete(webhook);
            await webhook.stop();
          },
        };
      },
      progress,
    };

    // The registry view the proxy forwards to: skopeo pushes through the proxy too, so every image
    // is named by the host the webhook sees.
    const viaProxy: RunningRegistry = { ...registry, host: registryHost, url: `http://${registryHost}` };
    progress('pushing and signing the warm, burst and cold images');
    const warmImages: SignedImage[] = [];
    for (const name of ['checkout', 'istio-proxy', 'log-shipper']) warmImages.push(await factory.pushSignedWithSkopeo(viaProxy, `bench/${name}`, 'v1', `warm-${name}`));
    const burstImages = settings.sections.has('burst')
      ? await inParallel(['checkout', 'istio-proxy', 'log-shipper'], 3, (name) => factory.pushSigned(`bench/burst-${name}`, 'v1', `burst-${name}`))
      : [];
    const coldIndexes = settings.sections.has('cold') ? Array.from({ length: settings.coldIterations }, (_, i) => String(i).padStart(2, '0')) : [];
    const coldWebhookImages = await inParallel(coldIndexes, settings.pushConcurrency, (i) => factory.pushSigned(`bench/cold-webhook-${i}`, 'v1', `cold-webhook-${i}`));
    const coldFloorImages = await inParallel(coldIndexes, settings.pushConcurrency, (i) => factory.pushSigned(`bench/cold-floor-${i}`, 'v1', `cold-floor-${i}`));

    let warm: WarmResult | undefined;
    let cold: ColdResult | undefined;
    if (settings.sections.has('warm') || settings.sections.has('cold')) {
      const webhook = await ctx.startWebhook('webhook-warm');
      try {
        if (settings.sections.has('warm')) {
          progress('section 1: warm cache');
          warm = await runWarm(ctx, webhook, warmImages);
        }
        if (settings.sections.has('cold')) {
          progress('section 2: cold cache');
          cold = await runCold(ctx, webhook, coldWebhookImages, coldFloorImages);
        }
      } finally {
        await webhook.stop();
      }
    }
    let burst: BurstResult | undefined;
    if (settings.sections.has('burst')) {
      const webhook = await ctx.startWebhook('webhook-burst');
      try {
        progress('section 3: burst');
        burst = await runBurst(ctx, webhook, burstImages);
      } finally {
        await webhook.stop();
      }
    }
    let many: ManyResult | undefined;
    if (settings.sections.has('many')) {
      progress('section 4: many images');
      many = await runMany(ctx);
    }

    let storm: StormResult | undefined;
    if (settings.sections.has('storm')) {
      progress(`section 5: restart storm (pushing ${settings.stormImages} images)`);
      const stormImages = await inParallel(
        Array.from({ length: settings.stormImages }, (_, i) => String(i).padStart(2, '0')),
        settings.pushConcurrency,
        (i) => factory.pushSigned(`bench/storm-${i}`, 'v1', `storm-${i}`),
      );
      const running = await startRedis();
      redis = running;
      const keyFile = join(tmp, 'shared-cache.key');
      writeFileSync(keyFile, randomBytes(32).toString('base64'), { mode: 0o600 });
      const admin = new Redis(running.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
      // Redis is stopped on purpose in the storm; the admin connection's errors are expected then.
      admin.on('error', () => undefined);
      try {
        storm = await runStorm(
          ctx,
          {
            startReplicas: (count, shared, name) =>
              Promise.all(Array.from({ length: count }, (_, i) => ctx.startWebhook(`${name}-${i + 1}`, shared ? ['--shared-cache', running.url, '--shared-cache-key-file', keyFile] : []))),
            flushShared: async () => {
              if (admin.status !== 'ready') await admin.connect().catch(() => undefined);
              await admin.flushall();
            },
            stopRedis: () => running.stop(),
            restartRedis: async () => {
              admin.disconnect();
              await running.restart();
            },
          },
          stormImages,
          settings.stormReviews,
          settings.stormConcurrency,
        );
      } finally {
        admin.disconnect();
      }
    }
    let soak: SoakResult | undefined;
    if (settings.sections.has('soak')) {
      // Half the warm maximum of this run (its best concurrency), as issue 17 asks.
      const warmMax = warm ? Math.max(...warm.rows.filter((row) => row.server === 'signet').map((row) => row.reviewsPerSecond)) : undefined;
      const rate = Math.max(1, Math.round(settings.soakRate ?? (warmMax !== undefined ? warmMax / 2 : 700)));
      const rateSource = settings.soakRate !== undefined ? 'BENCH_SOAK_RATE' : warmMax !== undefined ? 'half the warm maximum of this run' : 'the default; the warm section did not run';
      progress(`section 6: soak, ${settings.soakSeconds} s at ${rate} reviews/s`);
      const webhook = await ctx.startWebhook('webhook-soak');
      try {
        soak = await runSoak(ctx, webhook, warmImages, rate, rateSource, settings.soakSeconds);
      } finally {
        await webhook.stop();
      }
    }

    const seconds = (Date.now() - started) / 1000;
    const report = [
      '',
      `Signet benchmark — ${new Date(started).toISOString()} — ${host.cores} cores, ${host.cpuModel}, ${host.memory}, kernel ${host.kernel}, Node ${host.node}, ${host.registry}`,
      `Webhook: node ${settings.webhookNodeArgs.length > 0 ? `${settings.webhookNodeArgs.join(' ')} ` : ''}dist/cli.js serve over HTTPS (TLS 1.2+, EC P-256 certificate), log level ${settings.logLevel}; load generator, registry and proxy share the same ${host.cores} cores.`,
      ...(warm ? ['', renderWarm(warm, settings)] : []),
      ...(cold ? ['', renderCold(cold)] : []),
      ...(burst ? ['', renderBurst(burst)] : []),
      ...(many ? ['', renderMany(many)] : []),
      ...(storm ? ['', renderStorm(storm)] : []),
      ...(soak ? ['', renderSoak(soak)] : []),
      '',
      `Finished in ${seconds.toFixed(0)} s.`,
    ].join('\n');
    process.stdout.write(`${report}\n`);

    const resultsDir = join(ROOT, 'bench', 'results');
    mkdirSync(resultsDir, { recursive: true });
    const json = JSON.stringify({ startedAt: new Date(started).toISOString(), seconds, machine: host, settings: { ...settings, sections: [...settings.sections] }, warm, cold, burst, many, storm, soak }, null, 2);
    const file = join(resultsDir, `bench-${new Date(started).toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, json);
    writeFileSync(join(resultsDir, 'latest.json'), json);
    process.stdout.write(`Results: ${file}\n`);
    failed = false;
    return 0;
  } finally {
    await Promise.allSettled([...webhooks].map((w) => w.stop()));
    await client?.close();
    await proxy?.stop();
    await registry?.stop();
    await redis?.close();
    registryToStop = undefined;
    await stopAll();
    // BENCH_KEEP_LOGS=1 keeps them after a good run too, e.g. to read the decision lines.
    if (failed || process.env['BENCH_KEEP_LOGS'] === '1') progress(`child process logs kept in ${logDir}`);
    else rmSync(tmp, { recursive: true, force: true });
  }
}

const watchdog = setTimeout(() => {
  progress(`still running after ${WATCHDOG_MS / 60_000} minutes; stopping everything`);
  void Promise.allSettled([stopAll(), registryToStop?.stop()]).finally(() => process.exit(3));
}, WATCHDOG_MS);
watchdog.unref();

/** Set on SIGINT/SIGTERM: the errors the stopped children then cause are expected, not failures to report. */
let interrupted = false;

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = true;
    progress(`${signal} received; stopping every process`);
    void Promise.allSettled([stopAll(), registryToStop?.stop()]).finally(() => process.exit(130));
  });
}

main().then(
  (code) => {
    clearTimeout(watchdog);
    process.exitCode = code;
  },
  (error: unknown) => {
    clearTimeout(watchdog);
    if (!interrupted) progress(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exitCode = 1;
  },
);
