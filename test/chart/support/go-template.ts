// An interpreter for the subset of Go's text/template that the Signet chart uses, so the chart can be
// rendered in tests without a helm binary. It follows Go where the chart depends on it: whitespace
// trimming with {{- and -}}, truthiness, lazy `and`/`or`, variable scoping, an error when a field of nil
// is read, integer literals distinct from the float64 numbers Helm reads from values. It throws on every
// construct outside the subset, so a template can never render one way here and another way in Helm
// without a test noticing. It is not Helm: the functions come from support/helm.ts.

/** A value seen by templates: strings, bigint (Go int), number (Go float64), booleans, arrays, maps, null. */
export type Value = unknown;
export type TemplateFunction = (...args: Value[]) => Value;

export class TemplateError extends Error {
  constructor(where: string, message: string) {
    super(`${where}: ${message}`);
    this.name = 'TemplateError';
  }
}

/** What `fail` and `required` raise; tests assert on the message a chart user would read. */
export class TemplateFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateFailure';
  }
}

type Operand =
  | { readonly kind: 'field'; readonly base: FieldBase; readonly path: readonly string[] }
  | { readonly kind: 'ident'; readonly name: string }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'int'; readonly value: bigint }
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'bool'; readonly value: boolean }
  | { readonly kind: 'nil' };

type FieldBase = { readonly kind: 'dot' } | { readonly kind: 'var'; readonly name: string } | { readonly kind: 'pipe'; readonly pipe: Pipeline };

interface Pipeline {
  readonly decl: readonly string[];
  readonly assign: boolean;
  readonly cmds: readonly (readonly Operand[])[];
}

type Node =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'action'; readonly pipe: Pipeline; readonly where: string }
  | { readonly kind: 'if' | 'with' | 'range'; readonly pipe: Pipeline; readonly body: Node[]; readonly otherwise: Node[]; readonly where: string };

interface RawAction {
  readonly body: string;
  readonly where: string;
}

type Piece = { readonly kind: 'text'; readonly text: string } | { readonly kind: 'action'; readonly action: RawAction };

const KEYWORDS = new Set(['if', 'else', 'end', 'range', 'with', 'define', 'template', 'block', 'break', 'continue']);

/** Splits a template into text and action bodies, applying Go's trim markers. */
function splitActions(source: string, file: string): Piece[] {
  const pieces: Piece[] = [];
  let position = 0;
  let trimNextText = false;
  const lineAt = (index: number): number => source.slice(0, index).split('\n').length;
  while (position <= source.length) {
    const open = source.indexOf('{{', position);
    let text = source.slice(position, open === -1 ? source.length : open);
    if (trimNextText) text = text.replace(/^[ \t\r\n]+/, '');
    if (open === -1) {
      pieces.push({ kind: 'text', text });
      break;
    }
    const where = `${file}:${lineAt(open)}`;
    let inner = open + 2;
    // Go: "{{- " trims the text before the action; the marker is the dash and one white-space character.
    if (source[inner] === '-' && /[ \t\r\n]/.test(source[inner + 1] ?? '')) {
      text = text.replace(/[ \t\r\n]+$/, '');
      inner += 2;
    }
    pieces.push({ kind: 'text', text });
    const close = findClose(source, inner, where);
    let end = close;
    trimNextText = false;
    if (source[close - 1] === '-' && /[ \t\r\n]/.test(source[close - 2] ?? '') && close - 2 >= inner) {
      trimNextText = true;
      end = close - 2;
    }
    const raw = source.slice(inner, end);
    const body = raw.trim();
    if (raw.startsWith('/*')) {
      // Go: a comment starts right after "{{" or "{{- " and ends right before "}}" or " -}}".
      if (!raw.endsWith('*/')) throw new TemplateError(where, 'comment ends before closing delimiter');
    } else if (body.startsWith('/*')) {
      throw new TemplateError(where, 'a comment must start right after {{ or {{- ');
    } else {
      pieces.push({ kind: 'action', action: { body, where } });
    }
    position = close + 2;
  }
  return pieces;
}

/** Finds the "}}" closing an action, skipping quoted strings and comments. */
function findClose(source: string, from: number, where: string): number {
  let i = from;
  while (i < source.length) {
    const c = source[i];
    if (source.startsWith('/*', i)) {
      const endComment = source.indexOf('*/', i + 2);
      if (endComment === -1) throw new TemplateError(where, 'unclosed comment');
      i = endComment + 2;
    } else if (c === '"' || c === '`') {
      const quote = c;
      i += 1;
      while (i < source.length && source[i] !== quote) i += source[i] === '\\' && quote === '"' ? 2 : 1;
      i += 1;
    } else if (source.startsWith('}}', i)) {
      return i;
    } else {
      i += 1;
    }
  }
  throw new TemplateError(where, 'unclosed action');
}

type Token =
  | { readonly t: 'open' | 'close' | 'pipe' | 'comma' | 'declare' | 'assign' }
  | { readonly t: 'string'; readonly value: string }
  | { readonly t: 'number'; readonly text: string }
  | { readonly t: 'ident'; readonly name: string }
  | { readonly t: 'var'; readonly name: string; readonly path: readonly string[] }
  | { readonly t: 'field'; readonly path: readonly string[] }
  | { readonly t: 'chain'; readonly path: readonly string[] };

function tokenize(body: string, where: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const fieldPath = (): string[] => {
    const path: string[] = [];
    while (body[i] === '.' && /[A-Za-z_]/.test(body[i + 1] ?? '')) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(body.slice(i + 1))!;
      path.push(m[0]);
      i += 1 + m[0].length;
    }
    return path;
  };
  while (i < body.length) {
    const c = body[i]!;
    if (/\s/.test(c)) {
      i += 1;
    } else if (c === '(') {
      tokens.push({ t: 'open' });
      i += 1;
    } else if (c === ')') {
      tokens.push({ t: 'close' });
      i += 1;
      if (body[i] === '.' && /[A-Za-z_]/.test(body[i + 1] ?? '')) tokens.push({ t: 'chain', path: fieldPath() });
    } else if (c === '|') {
      tokens.push({ t: 'pipe' });
      i += 1;
    } else if (c === ',') {
      tokens.push({ t: 'comma' });
      i += 1;
    } else if (body.startsWith(':=', i)) {
      tokens.push({ t: 'declare' });
      i += 2;
    } else if (c === '=') {
      tokens.push({ t: 'assign' });
      i += 1;
    } else if (c === '"') {
      const m = /^"(?:[^"\\]|\\.)*"/.exec(body.slice(i));
      if (!m) throw new TemplateError(where, 'unterminated string');
      tokens.push({ t: 'string', value: JSON.parse(m[0]) as string });
      i += m[0].length;
    } else if (c === '`') {
      const endQuote = body.indexOf('`', i + 1);
      if (endQuote === -1) throw new TemplateError(where, 'unterminated raw string');
      tokens.push({ t: 'string', value: body.slice(i + 1, endQuote) });
      i = endQuote + 1;
    } else if (/[0-9-]/.test(c)) {
      const m = /^-?\d+(\.\d+)?/.exec(body.slice(i));
      if (!m) throw new TemplateError(where, `unexpected "${c}"`);
      tokens.push({ t: 'number', text: m[0] });
      i += m[0].length;
    } else if (c === '$') {
      const m = /^\$[A-Za-z0-9_]*/.exec(body.slice(i))!;
      i += m[0].length;
      tokens.push({ t: 'var', name: m[0], path: fieldPath() });
    } else if (c === '.') {
      if (/[A-Za-z_]/.test(body[i + 1] ?? '')) {
        tokens.push({ t: 'field', path: fieldPath() });
      } else {
        tokens.push({ t: 'field', path: [] });
        i += 1;
      }
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(body.slice(i))!;
      tokens.push({ t: 'ident', name: m[0] });
      i += m[0].length;
    } else {
      throw new TemplateError(where, `character ${JSON.stringify(c)} is outside the supported template subset`);
    }
  }
  return tokens;
}

class PipelineParser {
  private index = 0;
  constructor(
    private readonly tokens: readonly Token[],
    private readonly where: string,
  ) {}

  parseTop(allowDecl: boolean): Pipeline {
    const pipe = this.pipeline(allowDecl);
    if (this.index !== this.tokens.length) throw new TemplateError(this.where, 'unexpected tokens after the pipeline');
    return pipe;
  }

  private peek(): Token | undefined {
    return this.tokens[this.index];
  }

  private pipeline(allowDecl: boolean): Pipeline {
    const decl: string[] = [];
    let assign = false;
    if (allowDecl) {
      // `$x :=`, `$x =`, or `$k, $v :=` (range); look ahead without consuming anything else.
      let j = this.index;
      const names: string[] = [];
      for (let token = this.tokens[j]; token?.t === 'var' && token.path.length === 0; token = this.tokens[j]) {
        names.push(token.name);
        j += 1;
        if (this.tokens[j]?.t === 'comma') j += 1;
        else break;
      }
      const op = this.tokens[j]?.t;
      if (names.length > 0 && (op === 'declare' || op === 'assign')) {
        decl.push(...names);
        assign = op === 'assign';
        this.index = j + 1;
      }
    }
    const cmds: Operand[][] = [];
    for (;;) {
      cmds.push(this.command());
      if (this.peek()?.t !== 'pipe') break;
      this.index += 1;
    }
    return { decl, assign, cmds };
  }

  private command(): Operand[] {
    const operands: Operand[] = [];
    for (;;) {
      const token = this.peek();
      if (token === undefined || token.t === 'pipe' || token.t === 'close') break;
      operands.push(this.operand());
    }
    if (operands.length === 0) throw new TemplateError(this.where, 'empty command');
    return operands;
  }

  private operand(): Operand {
    const token = this.tokens[this.index++]!;
    switch (token.t) {
      case 'open': {
        const pipe = this.pipeline(false);
        if (this.tokens[this.index++]?.t !== 'close') throw new TemplateError(this.where, 'missing )');
        const chain = this.peek();
        if (chain?.t === 'chain') {
          this.index += 1;
          return { kind: 'field', base: { kind: 'pipe', pipe }, path: chain.path };
        }
        return { kind: 'field', base: { kind: 'pipe', pipe }, path: [] };
      }
      case 'string':
        return { kind: 'string', value: token.value };
      case 'number':
        return token.text.includes('.') ? { kind: 'float', value: Number(token.text) } : { kind: 'int', value: BigInt(token.text) };
      case 'var':
        return { kind: 'field', base: { kind: 'var', name: token.name }, path: token.path };
      case 'field':
        return { kind: 'field', base: { kind: 'dot' }, path: token.path };
      case 'ident':
        if (token.name === 'true' || token.name === 'false') return { kind: 'bool', value: token.name === 'true' };
        if (token.name === 'nil') return { kind: 'nil' };
        if (KEYWORDS.has(token.name)) throw new TemplateError(this.where, `keyword ${token.name} inside a pipeline`);
        return { kind: 'ident', name: token.name };
      default:
        throw new TemplateError(this.where, `unexpected token ${token.t}`);
    }
  }
}

interface Frame {
  readonly kind: 'if' | 'with' | 'range' | 'define' | 'root';
  readonly nodes: Node[];
  readonly name?: string;
  /** For if/with/range: the node whose body or otherwise list is being filled. */
  readonly owner?: Extract<Node, { kind: 'if' | 'with' | 'range' }>;
  /** `else if` opens a nested if that the same {{ end }} closes. */
  readonly chained?: boolean;
}

export interface ParsedTemplate {
  readonly nodes: readonly Node[];
  readonly defines: ReadonlyMap<string, readonly Node[]>;
}

export function parseTemplate(source: string, file: string): ParsedTemplate {
  const root: Node[] = [];
  const defines = new Map<string, Node[]>();
  const stack: Frame[] = [{ kind: 'root', nodes: root }];
  const top = (): Frame => stack[stack.length - 1]!;
  for (const piece of splitActions(source, file)) {
    if (piece.kind === 'text') {
      if (piece.text !== '') top().nodes.push({ kind: 'text', text: piece.text });
      continue;
    }
    const { body, where } = piece.action;
    const tokens = tokenize(body, where);
    const first = tokens[0];
    const keyword = first?.t === 'ident' && KEYWORDS.has(first.name) ? first.name : undefined;
    const rest = (skip: number): Pipeline => new PipelineParser(tokens.slice(skip), where).parseTop(true);
    switch (keyword) {
      case 'if':
      case 'with':
      case 'range': {
        const node = { kind: keyword, pipe: rest(1), body: [] as Node[], otherwise: [] as Node[], where };
        top().nodes.push(node);
        stack.push({ kind: keyword, nodes: node.body, owner: node });
        break;
      }
      case 'else': {
        const frame = stack.pop();
        if (!frame?.owner) throw new TemplateError(where, 'else outside if/with/range');
        if (tokens[1]?.t === 'ident' && tokens[1].name === 'if') {
          const nested = { kind: 'if' as const, pipe: rest(2), body: [] as Node[], otherwise: [] as Node[], where };
          frame.owner.otherwise.push(nested);
          if (frame.kind !== 'if') throw new TemplateError(where, `else if after ${frame.kind}`);
          // `else if B` is `else` + `if B`, closed by the one {{ end }} of the outer if.
          stack.push({ kind: 'if', nodes: frame.owner.otherwise, owner: frame.owner, ...(frame.chained ? { chained: true } : {}) });
          stack.push({ kind: 'if', nodes: nested.body, owner: nested, chained: true });
        } else {
          if (tokens.length > 1) throw new TemplateError(where, `unsupported else form "${body}"`);
          stack.push({ kind: frame.kind, nodes: frame.owner.otherwise, owner: frame.owner, ...(frame.chained ? { chained: true } : {}) });
        }
        break;
      }
      case 'end': {
        let frame = stack.pop();
        // An `else if` chain is closed by the single end of the outer if.
        while (frame?.chained) frame = stack.pop();
        if (!frame || frame.kind === 'root') throw new TemplateError(where, 'unexpected end');
        if (frame.kind === 'define') defines.set(frame.name!, frame.nodes);
        break;
      }
      case 'define': {
        const name = tokens[1];
        if (name?.t !== 'string' || tokens.length !== 2) throw new TemplateError(where, 'define needs a quoted name');
        stack.push({ kind: 'define', nodes: [], name: name.value });
        break;
      }
      case undefined:
        top().nodes.push({ kind: 'action', pipe: new PipelineParser(tokens, where).parseTop(true), where });
        break;
      default:
        throw new TemplateError(where, `{{ ${keyword} }} is outside the supported template subset`);
    }
  }
  if (stack.length !== 1) throw new TemplateError(file, 'missing {{ end }}');
  return { nodes: root, defines };
}

/** Go's truth: false, 0, nil, and empty strings, slices and maps are false. */
export function truthy(value: Value): boolean {
  if (value === null || value === undefined) return false;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0;
  if (typeof value === 'bigint') return value !== 0n;
  if (typeof value === 'string') return value.length > 0;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}

/** Go's %v for a float64: shortest digits, exponent form below 1e-4 or from 1e6 on (that is why Helm prints 1e+06). */
export function formatGoFloat(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? '+Inf' : '-Inf';
  if (n === 0) return '0';
  const [mantissa, expText] = n.toExponential().split('e') as [string, string];
  const exp = Number(expText);
  if (exp < -4 || exp >= 6) return `${mantissa}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return String(n);
}

/** How Go's fmt prints a value with %v (nil prints as Helm's "<no value>", which Helm then removes). */
export function formatValue(value: Value): string {
  if (value === null || value === undefined) return '<no value>';
  if (typeof value === 'string') return value;
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') return formatGoFloat(value);
  if (typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `[${value.map(formatValue).join(' ')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, Value>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `map[${entries.map(([k, v]) => `${k}:${formatValue(v)}`).join(' ')}]`;
  }
  throw new TemplateError('print', `cannot print a ${typeof value}`);
}

export interface EngineOptions {
  readonly functions: Readonly<Record<string, TemplateFunction>>;
}

/** Holds every parsed file's defines and renders files; `include` is provided here because it needs them. */
export class TemplateEngine {
  private readonly defines = new Map<string, readonly Node[]>();
  private readonly files = new Map<string, readonly Node[]>();
  private readonly functions: Readonly<Record<string, TemplateFunction>>;
  private includeDepth = 0;

  constructor(options: EngineOptions) {
    this.functions = { ...options.functions, include: (name, data) => this.include(name, data) };
  }

  addFile(name: string, source: string): void {
    const parsed = parseTemplate(source, name);
    this.files.set(name, parsed.nodes);
    for (const [defineName, nodes] of parsed.defines) this.defines.set(defineName, nodes);
  }

  render(file: string, data: Value): string {
    const nodes = this.files.get(file);
    if (!nodes) throw new TemplateError(file, 'no such template file');
    return this.execute(nodes, data);
  }

  private include(name: Value, data: Value): string {
    if (typeof name !== 'string') throw new TemplateError('include', 'the template name must be a string');
    const nodes = this.defines.get(name);
    if (!nodes) throw new TemplateError('include', `no template named ${JSON.stringify(name)}`);
    if (++this.includeDepth > 100) throw new TemplateError('include', 'recursion too deep');
    try {
      return this.execute(nodes, data);
    } finally {
      this.includeDepth -= 1;
    }
  }

  private execute(nodes: readonly Node[], data: Value): string {
    const out: string[] = [];
    // Go sets $ to the data a template is executed with.
    this.walk(nodes, data, [new Map([['$', data]])], out);
    return out.join('');
  }

  private walk(nodes: readonly Node[], dot: Value, scopes: Map<string, Value>[], out: string[]): void {
    for (const node of nodes) {
      switch (node.kind) {
        case 'text':
          out.push(node.text);
          break;
        case 'action': {
          const value = this.pipeline(node.pipe, dot, scopes, node.where);
          if (node.pipe.decl.length === 0) out.push(formatValue(value));
          break;
        }
        case 'if':
        case 'with': {
          const inner = [...scopes, new Map<string, Value>()];
          const value = this.pipeline(node.pipe, dot, inner, node.where);
          if (truthy(value)) this.walk(node.body, node.kind === 'with' ? value : dot, inner, out);
          else this.walk(node.otherwise, dot, [...scopes, new Map()], out);
          break;
        }
        case 'range': {
          if (node.pipe.decl.length > 2 || node.pipe.assign) throw new TemplateError(node.where, 'unsupported range declaration');
          const collection = this.pipeline({ ...node.pipe, decl: [] }, dot, scopes, node.where);
          const items: [Value, Value][] = Array.isArray(collection)
            ? collection.map((item, i) => [BigInt(i), item])
            : collection !== null && typeof collection === 'object'
              ? Object.keys(collection).sort().map((key) => [key, (collection as Record<string, Value>)[key]])
              : collection === null || collection === undefined
                ? []
                : (() => {
                    throw new TemplateError(node.where, `range can't iterate over ${formatValue(collection)}`);
                  })();
          if (items.length === 0) {
            this.walk(node.otherwise, dot, [...scopes, new Map()], out);
            break;
          }
          for (const [key, item] of items) {
            const scope = new Map<string, Value>();
            if (node.pipe.decl.length === 1) scope.set(node.pipe.decl[0]!, item);
            if (node.pipe.decl.length === 2) {
              scope.set(node.pipe.decl[0]!, key);
              scope.set(node.pipe.decl[1]!, item);
            }
            this.walk(node.body, item, [...scopes, scope], out);
          }
          break;
        }
      }
    }
  }

  private pipeline(pipe: Pipeline, dot: Value, scopes: Map<string, Value>[], where: string): Value {
    let value: Value = undefined;
    let hasFinal = false;
    for (const cmd of pipe.cmds) {
      value = this.command(cmd, dot, scopes, where, hasFinal ? { value } : undefined);
      hasFinal = true;
    }
    if (pipe.decl.length > 0) {
      const name = pipe.decl[0]!;
      if (pipe.decl.length !== 1) throw new TemplateError(where, 'only range declares two variables');
      if (pipe.assign) {
        const scope = [...scopes].reverse().find((s) => s.has(name));
        if (!scope) throw new TemplateError(where, `undefined variable ${name}`);
        scope.set(name, value);
      } else {
        scopes[scopes.length - 1]!.set(name, value);
      }
    }
    return value;
  }

  private command(cmd: readonly Operand[], dot: Value, scopes: Map<string, Value>[], where: string, final: { value: Value } | undefined): Value {
    const [head, ...args] = cmd;
    if (head?.kind === 'ident') {
      const name = head.name;
      if (name === 'and' || name === 'or') {
        // Go evaluates and/or lazily: `and $m.data (index $m.data "k")` never indexes a nil map.
        const thunks: (() => Value)[] = args.map((a) => () => this.operand(a, dot, scopes, where));
        if (final) thunks.push(() => final.value);
        if (thunks.length < 2) throw new TemplateError(where, `${name} needs at least two arguments`);
        let result: Value = undefined;
        for (const thunk of thunks) {
          result = thunk();
          if (name === 'and' ? !truthy(result) : truthy(result)) return result;
        }
        return result;
      }
      const fn = this.functions[name];
      if (!fn) throw new TemplateError(where, `function "${name}" is outside the supported subset`);
      const values = args.map((a) => this.operand(a, dot, scopes, where));
      if (final) values.push(final.value);
      try {
        return fn(...values);
      } catch (error) {
        if (error instanceof TemplateFailure) throw new TemplateFailure(`execution error at (${where}): ${error.message}`);
        if (error instanceof TemplateError) throw error;
        throw new TemplateError(where, `error calling ${name}: ${(error as Error).message}`);
      }
    }
    if (args.length > 0 || final) throw new TemplateError(where, "can't give arguments to a non-function");
    return this.operand(head!, dot, scopes, where);
  }

  private operand(operand: Operand, dot: Value, scopes: Map<string, Value>[], where: string): Value {
    switch (operand.kind) {
      case 'string':
      case 'int':
      case 'float':
      case 'bool':
        return operand.value;
      case 'nil':
        return null;
      case 'ident': {
        // A function name in argument position is a call with no arguments (e.g. `default dict .x`).
        const fn = this.functions[operand.name];
        if (!fn) throw new TemplateError(where, `function "${operand.name}" is outside the supported subset`);
        return fn();
      }
      case 'field': {
        let base: Value;
        let description: string;
        if (operand.base.kind === 'dot') {
          base = dot;
          description = '.';
        } else if (operand.base.kind === 'var') {
          const name = operand.base.name;
          const scope = [...scopes].reverse().find((s) => s.has(name));
          if (!scope) throw new TemplateError(where, `undefined variable ${name}`);
          base = scope.get(name);
          description = name;
        } else {
          base = this.pipeline(operand.base.pipe, dot, scopes, where);
          description = '(…)';
        }
        for (const key of operand.path) {
          if (base === null || base === undefined) throw new TemplateError(where, `nil pointer evaluating interface {}.${key} (in ${description})`);
          if (typeof base !== 'object' || Array.isArray(base)) throw new TemplateError(where, `can't evaluate field ${key} in ${description}`);
          base = Object.hasOwn(base, key) ? (base as Record<string, Value>)[key] : undefined;
          description += `.${key}`;
        }
        return base;
      }
    }
  }
}
