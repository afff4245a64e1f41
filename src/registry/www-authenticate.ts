// Parser for WWW-Authenticate challenges (RFC 7235 §4.1). Registries put commas inside quoted
// values (`scope="repository:a:pull,push"`), so splitting on commas is wrong; this walks the grammar.
// A malformed challenge is dropped rather than guessed at.

export interface Challenge {
  /** Lower-cased auth scheme: 'bearer', 'basic', ... */
  readonly scheme: string;
  /** Parameter names lower-cased; values unquoted. */
  readonly params: ReadonlyMap<string, string>;
  readonly token68?: string;
}

const TCHAR = /[!#$%&'*+.^_`|~0-9A-Za-z-]/;
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*/;

export function parseWwwAuthenticate(header: string): Challenge[] {
  const text = header;
  const end = text.length;
  let at = 0;
  const challenges: Challenge[] = [];

  const skipSpace = (): void => {
    while (at < end && (text[at] === ' ' || text[at] === '\t')) at++;
  };
  const readToken = (): string => {
    const start = at;
    while (at < end && TCHAR.test(text[at] ?? '')) at++;
    return text.slice(start, at);
  };
  const readQuoted = (): string | undefined => {
    at++; // opening quote
    let value = '';
    while (at < end) {
      const c = text[at] ?? '';
      if (c === '\\' && at + 1 < end) {
        value += text[at + 1];
        at += 2;
        continue;
      }
      at++;
      if (c === '"') return value;
      value += c;
    }
    return undefined;
  };
  // An auth-param is `token BWS = BWS (token / quoted-string)`; anything else after a comma starts a new challenge.
  const paramAhead = (): boolean => {
    const saved = at;
    skipSpace();
    const name = readToken();
    skipSpace();
    let found = name !== '' && text[at] === '=';
    if (found) {
      at++;
      skipSpace();
      found = at < end && (text[at] === '"' || TCHAR.test(text[at] ?? ''));
    }
    at = saved;
    return found;
  };

  while (at < end) {
    while (at < end && (text[at] === ' ' || text[at] === '\t' || text[at] === ',')) at++;
    if (at >= end) break;
    const scheme = readToken();
    if (scheme === '' || (at < end && text[at] !== ' ' && text[at] !== '\t' && text[at] !== ',')) return challenges;
    skipSpace();

    if (!paramAhead()) {
      const match = TOKEN68.exec(text.slice(at));
      let token68: string | undefined;
      if (match !== null) {
        const after = at + match[0].length;
        let probe = after;
        while (probe < end && (text[probe] === ' ' || text[probe] === '\t')) probe++;
        if (probe >= end || text[probe] === ',') {
          token68 = match[0];
          at = after;
        }
      }
      challenges.push(token68 === undefined ? { scheme: scheme.toLowerCase(), params: new Map() } : { scheme: scheme.toLowerCase(), params: new Map(), token68 });
      continue;
    }

    const params = new Map<string, string>();
    let malformed = false;
    while (paramAhead()) {
      skipSpace();
      const name = readToken().toLowerCase();
      skipSpace();
      at++; // '='
      skipSpace();
      const value = text[at] === '"' ? readQuoted() : readToken();
      if (value === undefined) return challenges; // unterminated quoted string: nothing after it can be trusted
      // Each parameter may appear once (RFC 7235); a repeated realm would make the target ambiguous.
      if (params.has(name)) malformed = true;
      else params.set(name, value);
      skipSpace();
      if (text[at] === ',') at++;
      else if (!paramAhead()) break;
    }
    if (!malformed) challenges.push({ scheme: scheme.toLowerCase(), params });
  }
  return challenges;
}
