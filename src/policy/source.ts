// The policy's YAML text: parses it strictly (unique string keys, one document, no unresolved tags,
// bounded aliases) into plain data, and maps field paths back to line and column so every problem can
// be shown where the author wrote it.

import { LineCounter, isAlias, isMap, isPair, isScalar, isSeq, parseDocument } from 'yaml';
import type { Document, ErrorCode, Node as YamlNode, Pair } from 'yaml';
import type { PathSegment } from './problem.js';

/** Anchors and aliases are legal YAML, but a handful is plenty for a policy; more is an attack. */
const MAX_ALIAS_COUNT = 50;

export interface Position {
  readonly line: number;
  readonly column: number;
}

export interface YamlProblem {
  readonly position: Position;
  /** The path of the innermost node at the error, when the document got that far. */
  readonly path: readonly PathSegment[];
  readonly message: string;
}

export type ParsedSource =
  | { readonly ok: true; readonly data: unknown; readonly locate: (path: readonly PathSegment[], at: 'key' | 'value') => Position }
  | { readonly ok: false; readonly problems: readonly YamlProblem[] };

type Located = { readonly node: unknown; readonly pair: Pair | undefined };

/** Walks the node tree as far as `path` goes; stops at the deepest node that exists. */
function walk(doc: Document, path: readonly PathSegment[]): Located {
  let node: unknown = doc.contents;
  let pair: Pair | undefined;
  for (const segment of path) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const found = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(segment));
      if (found === undefined) break;
      pair = found;
      node = found.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item: unknown = node.items[segment];
      if (item === undefined) break;
      pair = undefined;
      node = item;
    } else {
      break;
    }
  }
  return { node, pair };
}

function startOf(node: unknown): number | undefined {
  if (isPair(node)) return startOf(node.key) ?? startOf(node.value);
  const range = (node as YamlNode | null | undefined)?.range;
  return range?.[0];
}

/** Path of the innermost node whose range holds `offset`; used to name the field of a YAML error. */
function pathAt(doc: Document, offset: number): PathSegment[] {
  const path: PathSegment[] = [];
  let node: unknown = doc.contents;
  for (;;) {
    if (isMap(node)) {
      const hit = node.items.find((item) => {
        const start = startOf(item.key);
        const end = (item.value as YamlNode | null)?.range?.[2] ?? (item.key as YamlNode | null)?.range?.[2];
        return start !== undefined && end !== undefined && offset >= start && offset <= end;
      });
      if (hit === undefined || !isScalar(hit.key)) return path;
      path.push(String(hit.key.value));
      node = hit.value;
    } else if (isSeq(node)) {
      const index = node.items.findIndex((item) => {
        const range = (item as YamlNode | null)?.range;
        return range !== undefined && range !== null && offset >= range[0] && offset <= range[2];
      });
      if (index < 0) return path;
      path.push(index);
      node = node.items[index];
    } else {
      return path;
    }
  }
}

const PATH_IS_RELIABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['DUPLICATE_KEY', 'TAG_RESOLVE_FAILED', 'NON_STRING_KEY']);

/** Our wording where yaml's speaks to programmers rather than policy authors. */
const YAML_MESSAGES: Partial<Record<ErrorCode, string>> = {
  DUPLICATE_KEY: 'duplicate key; each key may appear only once in a map',
  MULTIPLE_DOCS: 'a policy is one YAML document; remove the "---" and everything after it, or split the file',
  NON_STRING_KEY: 'keys must be plain strings, not lists or maps',
};

/** Strips yaml's trailing " at line N, column M" (we report positions ourselves) and any excerpt. */
function tidy(message: string): string {
  const firstLine = message.split('\n')[0] ?? message;
  return firstLine.replace(/ at line \d+, column \d+:?$/, '').trim();
}

export function parseSource(text: string): ParsedSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter,
    prettyErrors: false,
    strict: true,
    uniqueKeys: true,
    stringKeys: true,
  });
  const position = (offset: number): Position => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };

  // Warnings count as problems: an unresolved tag, for instance, silently turns a value into a string.
  const yamlErrors = [...doc.errors, ...doc.warnings];
  if (yamlErrors.length > 0) {
    return {
      ok: false,
      problems: yamlErrors.map((error) => ({
        position: position(error.pos[0]),
        // After a syntax error the node tree is a guess, so a field path is only named where the
        // structure around the error is sound.
        path: PATH_IS_RELIABLE.has(error.code) ? pathAt(doc, error.pos[0]) : [],
        message: `YAML: ${YAML_MESSAGES[error.code] ?? tidy(error.message)}`,
      })),
    };
  }

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    // yaml throws when aliases expand beyond maxAliasCount (a "billion laughs" document).
    const message = error instanceof Error ? error.message : String(error);
    return { ok: false, problems: [{ position: { line: 1, column: 1 }, path: [], message: `YAML: ${tidy(message)}` }] };
  }

  const locate = (path: readonly PathSegment[], at: 'key' | 'value'): Position => {
    const { node, pair } = walk(doc, path);
    const offset = (at === 'key' && pair !== undefined ? startOf(pair.key) : startOf(node)) ?? startOf(pair) ?? 0;
    return position(offset);
  };
  return { ok: true, data, locate };
}
