import { pino } from 'pino';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createDecisionLog } from '../../src/telemetry/decision-log.js';

test('decision lines are pino-format JSON written to the logger destination, one per call, escaped', () => {
  const lines: string[] = [];
  const destination = { write: (line: string) => lines.push(line) };
  const log = createDecisionLog(pino({ level: 'info' }, destination), destination, { app: 'signet' });
  log({ uid: 'u"1', images: [{ image: 'a\nb' }] }, 'admission decision');
  log.flush();
  expect(lines).toHaveLength(1);
  expect(lines[0]!.endsWith('\n')).toBe(true);
  const parsed = JSON.parse(lines[0]!) as Record<string, unknown>;
  expect(parsed).toMatchObject({ level: 30, app: 'signet', uid: 'u"1', images: [{ image: 'a\nb' }], msg: 'admission decision' });
  expect(typeof parsed['time']).toBe('number');
});

test('nothing is written when info is disabled', () => {
  const lines: string[] = [];
  const destination = { write: (line: string) => lines.push(line) };
  const log = createDecisionLog(pino({ level: 'warn' }, destination), destination);
  log({ uid: 'x' }, 'admission decision');
  log.flush();
  expect(lines).toEqual([]);
});

test('an admission line is valid JSON with the fields pino would write, in order, and the images spliced in', () => {
  const lines: string[] = [];
  const destination = { write: (line: string) => lines.push(line) };
  const log = createDecisionLog(pino({ level: 'info' }, destination), destination, { app: 'signet' });
  const fields = {
    endpoint: 'validate',
    uid: 'u"1',
    namespace: 'shop\n',
    object: 'Pod shop/web',
    dryRun: true,
    verdict: 'denied',
    reason: 'UNSIGNED',
    policy: 'p',
    policyVersion: 'sha256:00',
  };
  log.admission({ ...fields, imagesJson: '[{"container":"a","image":"x:1"}]' });
  log.admission({ ...fields, namespace: undefined, imagesJson: '[]' });
  log.flush();
  const [first, second] = lines.join('').trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(Object.keys(first!)).toEqual(['level', 'time', 'app', 'endpoint', 'uid', 'namespace', 'object', 'dryRun', 'verdict', 'reason', 'policy', 'policyVersion', 'images', 'msg']);
  expect(first).toMatchObject({ level: 30, app: 'signet', ...fields, images: [{ container: 'a', image: 'x:1' }], msg: 'admission decision' });
  expect(Math.abs((first!['time'] as number) - Date.now())).toBeLessThan(5000);
  expect(second).not.toHaveProperty('namespace');
  expect(second).toMatchObject({ uid: 'u"1', images: [] });
});

test('without a destination of its own, admission lines go through the logger', () => {
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
  createDecisionLog(logger).admission({ endpoint: 'validate', uid: 'u', namespace: 'ns', object: 'Pod ns/p', dryRun: false, verdict: 'allowed', reason: 'verified', policy: 'p', policyVersion: 'v', imagesJson: '[{"image":"x"}]' });
  expect(JSON.parse(lines[0]!)).toMatchObject({ uid: 'u', verdict: 'allowed', images: [{ image: 'x' }], msg: 'admission decision' });
});

test('lines logged close together reach the destination as one write, in order, within the flush interval', async () => {
  const writes: string[] = [];
  const destination = { write: (text: string) => writes.push(text) };
  const log = createDecisionLog(pino({ level: 'info' }, destination), destination, { app: 'signet' }, 30);
  const started = performance.now();
  log({ uid: 'u0' }, 'admission decision');
  await new Promise((resolve) => setImmediate(resolve));
  for (let i = 1; i < 3; i++) log({ uid: `u${i}` }, 'admission decision');
  expect(writes).toEqual([]);
  while (writes.length === 0 && performance.now() - started < 5000) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(performance.now() - started).toBeGreaterThanOrEqual(25);
  expect(writes).toHaveLength(1);
  const lines = writes[0]!.split('\n');
  expect(lines.pop()).toBe('');
  expect(lines.map((l) => (JSON.parse(l) as { uid: string }).uid)).toEqual(['u0', 'u1', 'u2']);
});

test('a burst of lines is handed over in bounded batches, none split', () => {
  const writes: string[] = [];
  const destination = { write: (text: string) => writes.push(text) };
  const log = createDecisionLog(pino({ level: 'info' }, destination), destination);
  const reason = 'x'.repeat(1000);
  for (let i = 0; i < 200; i++) log({ uid: `u${i}`, reason }, 'admission decision');
  expect(writes.length).toBeGreaterThanOrEqual(2);
  log.flush();
  const uids = writes.flatMap((w) => {
    expect(w.endsWith('\n')).toBe(true);
    expect(w.length).toBeLessThan(64 * 1024 + 1200);
    return w.trimEnd().split('\n').map((l) => (JSON.parse(l) as { uid: string }).uid);
  });
  expect(uids).toEqual(Array.from({ length: 200 }, (_, i) => `u${i}`));
});

test('batched lines reach the file when the process exits abruptly (process.exit, an uncaught error)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'signet-decision-exit-'));
  try {
    const moduleUrl = pathToFileURL(join(process.cwd(), 'dist', 'telemetry', 'decision-log.js')).href;
    if (!existsSync(fileURLToPath(moduleUrl))) throw new Error('dist/ is missing: run make build (make test does)');
    for (const ending of ['process.exit(3)', "setImmediate(() => { throw new Error('boom') })"]) {
      const file = join(dir, 'out.log');
      const script = `
        import { pino } from 'pino';
        import { createDecisionLog, flushOnExit } from ${JSON.stringify(moduleUrl)};
        const destination = pino.destination({ dest: ${JSON.stringify(file)}, sync: false });
        const logger = pino({ level: 'info' }, destination);
        const log = createDecisionLog(logger, destination, { app: 'signet' });
        flushOnExit(log, destination);
        destination.on('ready', () => {
          for (let i = 0; i < 3; i++) log({ uid: 'u' + i }, 'admission decision');
          ${ending};
        });`;
      const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: process.cwd(), encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' }, timeout: 15_000 });
      expect(run.status).not.toBe(0);
      const uids = readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => (JSON.parse(l) as { uid: string }).uid);
      expect(uids).toEqual(['u0', 'u1', 'u2']);
      rmSync(file);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
