// The chart tests render templates with support/go-template.ts instead of Helm. These cases pin down
// the Go text/template behaviour the chart relies on, so a divergence shows up here first.
import { TemplateEngine, TemplateError, TemplateFailure, formatGoFloat } from './support/go-template.js';
import { helmFunctions } from './support/helm.js';

function render(source: string, data: unknown, functions: Record<string, (...args: unknown[]) => unknown> = {}): string {
  const engine = new TemplateEngine({ functions });
  engine.addFile('t', source);
  return engine.render('t', data);
}

describe('Go template subset used to render the chart', () => {
  it('trims white space, newlines included, only beside {{- and -}} followed or preceded by a space', () => {
    expect(render('a \n {{- "x" -}} \n b', {})).toBe('axb');
    expect(render('a {{ "x" }} b', {})).toBe('a x b');
    // {{-3}} is the number -3, not a trim marker (Go needs white space after the dash).
    expect(render('a {{-3}}', {})).toBe('a -3');
    expect(render('a {{/* gone */}}b', {})).toBe('a b');
    expect(render('a {{- /* gone */ -}} b', {})).toBe('ab');
  });

  it('reads fields of maps, gives nil for a missing key, and fails on a field of nil like Go', () => {
    expect(render('{{ .a.b }}', { a: { b: 'x' } })).toBe('x');
    expect(render('[{{ .a.missing }}]', { a: {} })).toBe('[<no value>]');
    expect(() => render('{{ .a.missing.deeper }}', { a: {} })).toThrow(/nil pointer evaluating interface \{\}\.deeper/);
  });

  it('follows Go truthiness in if/else if/else and with', () => {
    const t = '{{ if .a }}A{{ else if .b }}B{{ else }}C{{ end }}';
    expect(render(t, { a: 'x', b: 1 })).toBe('A');
    expect(render(t, { a: '', b: 1 })).toBe('B');
    expect(render(t, { a: [], b: 0 })).toBe('C');
    expect(render(t, { a: {}, b: false })).toBe('C');
    expect(render('{{ with .m }}{{ .k }}{{ else }}none{{ end }}', { m: { k: 'v' } })).toBe('v');
    expect(render('{{ with .m }}{{ .k }}{{ else }}none{{ end }}', { m: {} })).toBe('none');
  });

  it('ranges over lists in order and over maps by sorted key, with else for empty', () => {
    expect(render('{{ range $i, $v := .l }}{{ $i }}={{ $v }};{{ end }}', { l: ['a', 'b'] })).toBe('0=a;1=b;');
    expect(render('{{ range $k, $v := .m }}{{ $k }}={{ $v }};{{ end }}', { m: { z: 1, a: 2 } })).toBe('a=2;z=1;');
    expect(render('{{ range .l }}x{{ else }}empty{{ end }}', { l: [] })).toBe('empty');
  });

  it('scopes variables to their block, and `=` assigns the enclosing one', () => {
    expect(render('{{ $x := "a" }}{{ if true }}{{ $x = "b" }}{{ end }}{{ $x }}', {})).toBe('b');
    expect(() => render('{{ if true }}{{ $y := 1 }}{{ end }}{{ $y }}', {})).toThrow(/undefined variable \$y/);
    expect(() => render('{{ $z = 1 }}', {})).toThrow(/undefined variable \$z/);
  });

  it('evaluates and/or lazily and returns the deciding operand', () => {
    const boom = (): unknown => {
      throw new Error('evaluated');
    };
    expect(render('{{ and .a (boom) }}', { a: '' }, { boom })).toBe('');
    expect(render('{{ or .a (boom) }}', { a: 'first' }, { boom })).toBe('first');
    expect(render('{{ or .a .b }}', { a: '', b: 'second' })).toBe('second');
  });

  it('runs defines through include with $ set to the included data, and pipes the value as the last argument', () => {
    const engine = new TemplateEngine({ functions: { upper: (s) => String(s).toUpperCase(), pair: (a, b) => `${String(a)}:${String(b)}` } });
    engine.addFile('_h.tpl', '{{- define "name" -}}{{ $.n }}-{{ .n }}{{- end -}}');
    engine.addFile('t', '{{ include "name" .inner | upper }} {{ "b" | pair "a" }}');
    expect(engine.render('t', { inner: { n: 'x' } })).toBe('X-X a:b');
  });

  it('prints values from YAML (float64 in Helm) the way Go does, and integer literals as integers', () => {
    expect(render('{{ .n }} {{ .big }} {{ 1000000 }}', { n: 10, big: 1000000 })).toBe('10 1e+06 1000000');
    expect(formatGoFloat(123456)).toBe('123456');
    expect(formatGoFloat(0.5)).toBe('0.5');
    expect(formatGoFloat(0.00001)).toBe('1e-05');
    expect(formatGoFloat(15000000)).toBe('1.5e+07');
  });

  it('refuses what it does not implement instead of rendering it differently from Helm', () => {
    expect(() => render('{{ template "x" . }}', {})).toThrow(TemplateError);
    expect(() => render('{{ nosuchfunction 1 }}', {})).toThrow(/function "nosuchfunction" is outside the supported subset/);
    expect(() => render('{{ if true }}x', {})).toThrow(/missing \{\{ end \}\}/);
    expect(() => render('{{ end }}', {})).toThrow(/unexpected end/);
    expect(() => render('{{ "a" "b" }}', {})).toThrow(/can't give arguments to a non-function/);
    expect(() => render('{{ /* spaced */ }}', {})).toThrow(/a comment must start right after/);
    expect(() => render('{{/* spaced */ }}', {})).toThrow(/comment ends before closing delimiter/);
  });

  it('reports `fail` with the template position, as Helm does', () => {
    const fail = (message: unknown): never => {
      throw new TemplateFailure(String(message));
    };
    expect(() => render('line1\n{{ fail "stop here" }}', {}, { fail })).toThrow('execution error at (t:2): stop here');
  });
});

describe('Helm function shims keep the Go parameter types Helm enforces', () => {
  function renderWithHelm(source: string, data: unknown): string {
    const engine = new TemplateEngine({ functions: helmFunctions({}) });
    engine.addFile('t', source);
    return engine.render('t', data);
  }

  it('refuses a float64 value where Sprig takes an int, and accepts it through int', () => {
    expect(() => renderWithHelm('{{ trunc .n "abcdef" }}', { n: 3 })).toThrow(/wrong type for value; expected int; got float64/);
    expect(renderWithHelm('{{ trunc (int .n) "abcdef" }}', { n: 3 })).toBe('abc');
  });

  it("refuses splitList's []string where genSignedCert takes []interface{}, as Helm does", () => {
    const source = '{{ $ca := genCA "ca" 1 }}{{ $c := genSignedCert "x" nil (splitList "," "a,b") 1 $ca }}';
    expect(() => renderWithHelm(source, {})).toThrow(/wrong type for value; expected \[\]interface \{\}; got \[\]string/);
    expect(renderWithHelm('{{ $ca := genCA "ca" 1 }}{{ $c := genSignedCert "x" nil (list "a" "b") 1 $ca }}ok', {})).toBe('ok');
  });
});
