// Renders denials and warnings for people reading `kubectl` output: every failing container on
// its own line with image, digest, rule, code, reason and fix; bounded to what the API server relays.
import type { ImageVerdict } from '../decide/types.js';
import type { ContainerImage } from './extract.js';

/** Kubernetes relays the status message whole, but kubectl users read a screen, not a novel. */
export const MAX_MESSAGE_CHARS = 4096;
const MAX_LINE_CHARS = 900;
/** API server guidance: warnings of at most 120 characters are shown as-is, longer ones may be cut. */
export const MAX_WARNING_CHARS = 120;
export const MAX_WARNINGS = 20;

export interface ContainerVerdict {
  readonly container: ContainerImage;
  readonly verdict: ImageVerdict;
}

export function denialMessage(objectDescription: string, policyName: string, denied: readonly ContainerVerdict[], total: number): string {
  const head = `${objectDescription}: ${denied.length} of ${total} container image${total === 1 ? '' : 's'} denied by signet policy "${policyName}":`;
  const lines: string[] = [head];
  let used = head.length;
  for (const [i, cv] of denied.entries()) {
    const line = clip(`- ${denialLine(cv)}`, MAX_LINE_CHARS);
    if (used + line.length + 1 > MAX_MESSAGE_CHARS - 40) {
      lines.push(`- ... and ${denied.length - i} more (see the webhook's logs or run signet verify)`);
      break;
    }
    lines.push(line);
    used += line.length + 1;
  }
  return lines.join('\n');
}

export function denialLine({ container, verdict }: ContainerVerdict): string {
  if (verdict.outcome !== 'denied') return '';
  const digest = verdict.digest ? ` -> ${verdict.digest}` : '';
  const rule = verdict.rule ? (verdict.tenant !== undefined ? ` [rule ${verdict.rule} of namespace ${verdict.tenant}'s own policy]` : ` [rule ${verdict.rule}]`) : '';
  return `${kindLabel(container.kind)} "${container.container}" (${verdict.image || '<no image>'}${digest}): ${verdict.code}: ${verdict.reason}${rule}. Fix: ${verdict.fix}`;
}

export function warningLine(prefix: string, { container, verdict }: ContainerVerdict): string {
  const what = verdict.outcome === 'denied' ? `${verdict.code}` : 'allowed';
  return clip(`${prefix}: ${container.container} (${verdict.image}): ${what}`, MAX_WARNING_CHARS);
}

export function clip(text: string, max: number): string {
  // Warnings become HTTP headers: keep them printable single lines.
  const oneLine = text.replace(/[\r\n\t]+/g, ' ').replace(/[^\x20-\x7e]/g, '?');
  return oneLine.length <= max ? oneLine : `${oneLine.slice(0, max - 3)}...`;
}

function kindLabel(kind: ContainerImage['kind']): string {
  switch (kind) {
    case 'container':
      return 'container';
    case 'initContainer':
      return 'init container';
    case 'ephemeralContainer':
      return 'ephemeral container';
  }
}
