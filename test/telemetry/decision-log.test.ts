import { pino } from 'pino';
import { createDecisionLog } from '../../src/telemetry/decision-log.js';

test('decision lines are pino-format JSON written to the logger destination, one per call, escaped', () => {
  const lines: string[] = [];
  const destination = { write: (line: string) => lines.push(line) };
  const log = createDecisionLog(pino({ level: 'info' }, destination), destination, { app: 'signet' });
  log({ uid: 'u"1', images: [{ image: 'a\nb' }] }, 'admission decision');
  expect(lines).toHaveLength(1);
  expect(lines[0]!.endsWith('\n')).toBe(true);
  const parsed = JSON.parse(lines[0]!) as Record<string, unknown>;
  expect(parsed).toMatchObject({ level: 30, app: 'signet', uid: 'u"1', images: [{ image: 'a\nb' }], msg: 'admission decision' });
  expect(typeof parsed['time']).toBe('number');
});

test('nothing is written when info is disabled', () => {
  const lines: string[] = [];
  const destination = { write: (line: string) => lines.push(line) };
  createDecisionLog(pino({ level: 'warn' }, destination), destination)({ uid: 'x' }, 'admission decision');
  expect(lines).toEqual([]);
});

test('withImages splices ready JSON for the images field into a valid line', () => {
  const lines: string[] = [];
  const destination = { write: (line: string) => lines.push(line) };
  const log = createDecisionLog(pino({ level: 'info' }, destination), destination, { app: 'signet' });
  log.withImages({ uid: 'u1' }, '[{"container":"a","image":"x:1"}]', 'admission decision');
  expect(JSON.parse(lines[0]!)).toMatchObject({ level: 30, app: 'signet', uid: 'u1', images: [{ container: 'a', image: 'x:1' }], msg: 'admission decision' });
});
