/**
 * `org.systemd.property.<Name>` annotations → unit properties, as runc reads them: the name is
 * latin letters only (3 or more), the value a D-Bus variant in GVariant text format, and a name
 * ending in "<letter>Sec" (documented systemd names such as TimeoutStopSec) becomes "...USec" with
 * the number taken as seconds. The GVariant subset runc's users write: booleans, numbers (int32
 * unless typed: "uint64 5", "@t 5"; with "." or "e" a double), strings in ' or " with escapes, and
 * arrays of those ("[1, 2]", "@as []"). Pure.
 */
import { configError } from '../errors.js';
import { pointerToken } from './paths.js';
import type { UnitProperty, Variant } from './systemd-props.js';

const PREFIX = 'org.systemd.property.';

/** GVariant type keywords and their D-Bus signatures */
const KEYWORDS: Record<string, string> = {
  boolean: 'b', byte: 'y', int16: 'n', uint16: 'q', int32: 'i', uint32: 'u', int64: 'x', uint64: 't',
  handle: 'h', double: 'd', string: 's', objectpath: 'o', signature: 'g',
};
const RANGES: Record<string, [bigint, bigint]> = {
  y: [0n, 255n], n: [-(2n ** 15n), 2n ** 15n - 1n], q: [0n, 2n ** 16n - 1n], i: [-(2n ** 31n), 2n ** 31n - 1n],
  u: [0n, 2n ** 32n - 1n], h: [-(2n ** 31n), 2n ** 31n - 1n], x: [-(2n ** 63n), 2n ** 63n - 1n], t: [0n, 2n ** 64n - 1n],
};

export function annotationProperties(annotations: Record<string, string> | undefined): UnitProperty[] {
  const props: UnitProperty[] = [];
  for (const [key, text] of Object.entries(annotations ?? {})) {
    if (!key.startsWith(PREFIX)) continue;
    const pointer = `/annotations/${pointerToken(key)}`;
    let name = key.slice(PREFIX.length);
    if (!/^[A-Za-z]{3,}$/.test(name)) throw configError(pointer, `systemd property name ${JSON.stringify(name)} must be 3 or more latin letters`);
    let value: Variant;
    try {
      value = parseGVariant(text);
    } catch (err) {
      throw configError(pointer, `${JSON.stringify(text)} is not a GVariant value: ${(err as Error).message}`);
    }
    if (/[a-z]Sec$/.test(name)) {
      name = `${name.slice(0, -3)}USec`;
      value = secondsToUSec(value, pointer);
    }
    props.push([name, value]);
  }
  return props;
}

function secondsToUSec([sig, v]: Variant, pointer: string): Variant {
  if (sig === 'd') {
    const us = Math.trunc((v as number) * 1e6);
    if (!(us >= 0)) throw configError(pointer, 'a time in seconds cannot be negative');
    return ['t', String(us)];
  }
  if (!(sig in RANGES)) throw configError(pointer, 'a time in seconds must be a number');
  const us = BigInt(v as string | number) * 1000000n;
  if (us < 0n) throw configError(pointer, 'a time in seconds cannot be negative');
  return ['t', BigInt.asUintN(64, us).toString()];
}

/** One GVariant text value; 64-bit numbers come back as decimal strings (exact). */
export function parseGVariant(text: string): Variant {
  const p = new Parser(text);
  const v = p.value(undefined);
  p.skipSpace();
  if (!p.atEnd()) throw new Error(`unexpected ${JSON.stringify(p.rest())}`);
  return v;
}

class Parser {
  private at = 0;
  constructor(private readonly s: string) {}

  atEnd(): boolean {
    return this.at >= this.s.length;
  }
  rest(): string {
    return this.s.slice(this.at);
  }
  skipSpace(): void {
    while (/\s/.test(this.s[this.at] ?? '')) this.at++;
  }

  /** a value, of type `want` (a signature) when the context fixes it */
  value(want: string | undefined): Variant {
    this.skipSpace();
    const ann = /^@([a-z()]+)\s+/.exec(this.rest());
    if (ann) {
      this.at += ann[0].length;
      return this.value(ann[1]);
    }
    const kw = /^([a-z]+[0-9]*)\s+/.exec(this.rest());
    if (kw && KEYWORDS[kw[1]]) {
      this.at += kw[0].length;
      return this.value(KEYWORDS[kw[1]]);
    }
    const c = this.s[this.at];
    if (c === '[') return this.array(want);
    if (c === "'" || c === '"') return this.typed(want ?? 's', ['s', this.string(c)]);
    const word = /^(true|false)\b/.exec(this.rest());
    if (word) {
      this.at += word[0].length;
      return this.typed(want ?? 'b', ['b', word[1] === 'true']);
    }
    const num = /^[-+]?(0x[0-9a-fA-F]+|\d+(\.\d*)?([eE][-+]?\d+)?|inf|nan)/.exec(this.rest());
    if (num) {
      this.at += num[0].length;
      const isFloat = /[.eE]|inf|nan/.test(num[0]) && !/^[-+]?0x/.test(num[0]);
      return this.number(want ?? (isFloat ? 'd' : 'i'), num[0]);
    }
    throw new Error(`unexpected ${JSON.stringify(this.rest().slice(0, 20)) || 'end'}`);
  }

  private typed(want: string, v: Variant): Variant {
    if (want === v[0] || (v[0] === 's' && (want === 'o' || want === 'g'))) return [want, v[1]];
    throw new Error(`a ${v[0] === 's' ? 'string' : 'boolean'} where the type is "${want}"`);
  }

  private number(sig: string, text: string): Variant {
    if (sig === 'd') {
      const n = Number(text);
      if (Number.isNaN(n) && !/nan/.test(text)) throw new Error(`bad number ${text}`);
      return ['d', n];
    }
    const range = RANGES[sig];
    if (!range) throw new Error(`a number where the type is "${sig}"`);
    if (/[.eE]/.test(text) && !/0x/.test(text)) throw new Error(`${text} is not an integer`);
    const neg = text.startsWith('-');
    const n = BigInt(text.replace(/^[-+]/, '')) * (neg ? -1n : 1n);
    if (n < range[0] || n > range[1]) throw new Error(`${text} is out of range for "${sig}"`);
    return [sig, sig === 'x' || sig === 't' ? n.toString() : Number(n)];
  }

  private string(quote: string): string {
    let out = '';
    this.at++;
    for (;;) {
      const c = this.s[this.at++];
      if (c === undefined) throw new Error('unterminated string');
      if (c === quote) return out;
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = this.s[this.at++];
      const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', b: '\b', f: '\f', v: '\v', a: '\x07', '\\': '\\', "'": "'", '"': '"' };
      if (e in simple) out += simple[e];
      else if (e === 'u' || e === 'U') {
        const len = e === 'u' ? 4 : 8;
        const hex = this.s.slice(this.at, this.at + len);
        if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== len) throw new Error('bad \\u escape');
        out += String.fromCodePoint(parseInt(hex, 16));
        this.at += len;
      } else throw new Error(`unknown escape \\${e ?? ''}`);
    }
  }

  private array(want: string | undefined): Variant {
    if (want !== undefined && !want.startsWith('a')) throw new Error(`an array where the type is "${want}"`);
    let elem = want?.slice(1);
    const items: unknown[] = [];
    this.at++;
    this.skipSpace();
    if (this.s[this.at] === ']') {
      this.at++;
      if (elem === undefined) throw new Error('an empty array needs a type ("@as []")');
      return [`a${elem}`, items];
    }
    for (;;) {
      const [sig, v] = this.value(elem);
      if (elem !== undefined && sig !== elem) throw new Error(`array elements of types "${elem}" and "${sig}"`);
      elem = sig;
      items.push(v);
      this.skipSpace();
      const c = this.s[this.at++];
      if (c === ']') return [`a${elem}`, items];
      if (c !== ',') throw new Error('expected "," or "]" in an array');
    }
  }
}
