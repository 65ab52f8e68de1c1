/**
 * Text cleaning of open_clip's SimpleTokenizer with clean="lower":
 *   ftfy.fix_text → html.unescape → html.unescape → strip → collapse whitespace → lowercase.
 *
 * `fixText` is a deliberately small subset of ftfy 6.3.1 `fix_text` (default config). It covers, in ftfy's order and
 * repeated until the text stops changing, per line (a line containing '<' switches HTML decoding off for itself and
 * every later line, as ftfy does):
 *   - HTML entities: `&name;` of the HTML5 table, ALL-CAPS variants of lower-case names (`&EACUTE;` → É), `&#n;`/`&#xh;`;
 *     only forms ending in ';'.
 *   - Mojibake: text that is entirely Latin-1 (else entirely Windows-1252, undefined bytes passed through) and whose
 *     bytes are valid UTF-8 is decoded as UTF-8 (`cafÃ©` → café, `â€™` → ’ → '); failing that, each run shaped like
 *     UTF-8 bytes (lead byte + continuation bytes, seen through those code pages) is decoded on its own when valid
 *     (`日本 cafÃ©` → 日本 café).
 *   - C1 controls (U+0080–U+009F) read as Windows-1252 (0x93 → “).
 *   - Latin ligatures (ﬁ → fi, ĳ → ij, ǆ → dž ...), full-width and half-width forms (NFKC of U+FF01–U+FFEF, U+3000 → ' ').
 *   - Curly/low quotes to ASCII (U+02BC, U+2018–U+201B → ', U+201C–U+201F → ").
 *   - Line breaks (\r\n, \r, U+2028, U+2029, U+0085 → \n), lone surrogates → U+FFFD, ANSI terminal escapes removed,
 *     control characters removed (C0 except \t \n \f \r, DEL, U+206A–U+206F, U+FEFF, U+FFF9–U+FFFC), then NFC.
 * Not covered (text stays as it is where ftfy might change it): ftfy's "badness" heuristic (here any Latin-1/cp1252
 * text whose bytes form valid UTF-8 is treated as mojibake, ftfy additionally asks whether it looks bad), mojibake
 * through other code pages (cp1250/1251/1253/1254/1257, ISO-8859-2, MacRoman, cp437), Java/CESU UTF-8 variants,
 * NBSP restoration ("Ã " → à) and sequences partly replaced by '�' or '?'.
 */
import { LEGACY_ENTITY_NAMES, namedEntities } from './htmlEntities';

/** Characters Python's str.isspace() accepts (str.strip / str.split / `\s` of open_clip), as a RegExp class body. */
export const PY_SPACE =
  '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_SPACE_RUN = new RegExp(`[${PY_SPACE}]+`, 'g');
const PY_SPACE_EDGES = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, 'g');

/** The CLIP "lower" clean: what open_clip feeds to the pre-tokenizer regex. */
export function cleanLower(text: string): string {
  const basic = pythonHtmlUnescape(pythonHtmlUnescape(fixText(text))).replace(PY_SPACE_EDGES, '');
  return basic.replace(PY_SPACE_RUN, ' ').replace(PY_SPACE_EDGES, '').toLowerCase();
}

// ---------------------------------------------------------------------------------------------------------------
// Python's html.unescape (WHATWG character-reference rules).

/** Windows-1252 characters of bytes 0x80–0x9F; the five undefined bytes map to themselves (as the HTML spec says). */
const CP1252_HIGH =
  '\u20ac\x81\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\x8d\u017d\x8f' +
  '\x90\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\x9d\u017e\u0178';

const PY_CHARREF = /&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)/gu;

function numericReference(code: number): string {
  if (code === 0) return '\ufffd';
  if (code === 0x0d) return '\r';
  if (code >= 0x80 && code <= 0x9f) return CP1252_HIGH[code - 0x80];
  if ((code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff) return '\ufffd';
  const dropped =
    (code >= 0x01 && code <= 0x08) ||
    code === 0x0b ||
    (code >= 0x0e && code <= 0x1f) ||
    code === 0x7f ||
    (code >= 0xfdd0 && code <= 0xfdef) ||
    (code & 0xfffe) === 0xfffe;
  return dropped ? '' : String.fromCodePoint(code);
}

function replaceCharref(whole: string, ref: string): string {
  if (ref[0] === '#') {
    const hex = ref[1] === 'x' || ref[1] === 'X';
    const digits = ref.slice(hex ? 2 : 1).replace(/;$/, '');
    return numericReference(Number.parseInt(digits, hex ? 16 : 10));
  }
  const entities = namedEntities();
  if (ref.endsWith(';')) {
    const value = entities.get(ref.slice(0, -1));
    if (value !== undefined) return value;
  } else if (LEGACY_ENTITY_NAMES.has(ref)) {
    return entities.get(ref)!;
  }
  // The longest legacy name that prefixes the reference wins (`&notit;` → ¬it;).
  for (let len = ref.length - 1; len > 1; len--) {
    const prefix = ref.slice(0, len);
    if (LEGACY_ENTITY_NAMES.has(prefix)) return entities.get(prefix)! + ref.slice(len);
  }
  return whole;
}

/** Python 3.11 `html.unescape`. */
export function pythonHtmlUnescape(text: string): string {
  return text.includes('&') ? text.replace(PY_CHARREF, replaceCharref) : text;
}

// ---------------------------------------------------------------------------------------------------------------
// ftfy subset.

const FTFY_ENTITY = /&#?[0-9A-Za-z]{1,24};/g;
let ftfyEntities: Map<string, string> | null = null;

/** ftfy's entity table: every `&name;`, plus `&NAME;` for lower-case names where that spelling means nothing else. */
function ftfyEntityTable(): Map<string, string> {
  if (!ftfyEntities) {
    ftfyEntities = new Map();
    for (const [name, value] of namedEntities()) {
      ftfyEntities.set(`&${name};`, value);
    }
    for (const [name, value] of namedEntities()) {
      if (name !== name.toLowerCase()) continue;
      const upper = `&${name.toUpperCase()};`;
      if (pythonHtmlUnescape(upper) === upper) ftfyEntities.set(upper, value.toUpperCase());
    }
  }
  return ftfyEntities;
}

function unescapeHtmlFtfy(text: string): string {
  return text.replace(FTFY_ENTITY, (ref) => {
    const known = ftfyEntityTable().get(ref);
    if (known !== undefined) return known;
    if (ref.startsWith('&#')) {
      const decoded = pythonHtmlUnescape(ref);
      return decoded.includes(';') ? ref : decoded;
    }
    return ref;
  });
}

let cp1252Encoder: Map<string, number> | null = null;

/** Bytes of `text` in Latin-1, or in Windows-1252 (undefined bytes as their Latin-1 C1 twins); null if impossible. */
function singleByteEncode(text: string, windows1252: boolean): Uint8Array | null {
  if (!cp1252Encoder) {
    cp1252Encoder = new Map();
    for (let b = 0; b < 256; b++)
      cp1252Encoder.set(b >= 0x80 && b <= 0x9f ? CP1252_HIGH[b - 0x80] : String.fromCharCode(b), b);
  }
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (!windows1252) {
      if (c > 0xff) return null;
      out[i] = c;
    } else {
      const b = cp1252Encoder.get(text[i]);
      if (b === undefined) return null;
      out[i] = b;
    }
  }
  return out;
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });
const C1_CONTROL = /[\x80-\x9f]/g;

function fixC1Controls(text: string): string {
  return text.replace(C1_CONTROL, (c) => CP1252_HIGH[c.charCodeAt(0) - 0x80]);
}

/** A UTF-8 continuation byte (0x80–0xBF) seen through Latin-1 or Windows-1252. */
const UTF8_CONTINUATION = `\\x80-\\xbf${CP1252_HIGH}`;
/** Runs of UTF-8 lead + continuation bytes seen through Latin-1/Windows-1252 (`Ã©`, `â€™`, `ðŸ˜€`). */
const EMBEDDED_UTF8 = new RegExp(
  `(?<![${UTF8_CONTINUATION}])(?:[\\xc2-\\xdf][${UTF8_CONTINUATION}]|[\\xe0-\\xef][${UTF8_CONTINUATION}]{2}|[\\xf0-\\xf4][${UTF8_CONTINUATION}]{3})+`,
  'g',
);

/** One round of mojibake repair (see the module comment for what is and is not covered). */
function fixEncodingOnce(text: string): string {
  if (/^[\x00-\x7f]*$/.test(text)) return text;
  for (const windows1252 of [false, true]) {
    const bytes = singleByteEncode(text, windows1252);
    if (!bytes) continue;
    try {
      return STRICT_UTF8.decode(bytes);
    } catch {
      // Not UTF-8 in this code page: try the next one.
    }
  }
  // Mojibake embedded in text that has other characters too: decode each UTF-8-shaped run on its own.
  const pieces = text.replace(EMBEDDED_UTF8, (run) => (run.length < text.length ? fixEncoding(run) : run));
  return pieces !== text ? pieces : fixC1Controls(text);
}

function fixEncoding(text: string): string {
  for (;;) {
    const fixed = fixEncodingOnce(text);
    if (fixed === text) return text;
    text = fixed;
  }
}

/** ftfy's Latin ligature table (other scripts' ligatures are left alone, as ftfy does). */
const LIGATURES: Record<string, string> = {
  Ĳ: 'IJ',
  ĳ: 'ij',
  ŉ: 'ʼn',
  Ǳ: 'DZ',
  ǲ: 'Dz',
  ǳ: 'dz',
  Ǆ: 'DŽ',
  ǅ: 'Dž',
  ǆ: 'dž',
  Ǉ: 'LJ',
  ǈ: 'Lj',
  ǉ: 'lj',
  Ǌ: 'NJ',
  ǋ: 'Nj',
  ǌ: 'nj',
  ﬀ: 'ff',
  ﬁ: 'fi',
  ﬂ: 'fl',
  ﬃ: 'ffi',
  ﬄ: 'ffl',
  ﬅ: 'ſt',
  ﬆ: 'st',
};
const LIGATURE_CHARS = new RegExp(`[${Object.keys(LIGATURES).join('')}]`, 'g');
const WIDTH_FORMS = /[\u3000\uff01-\uffef]/g;

function fixCharacterWidth(text: string): string {
  return text.replace(WIDTH_FORMS, (c) => (c === '\u3000' ? ' ' : c.normalize('NFKC')));
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const ANSI_ESCAPE = /\x1b\[(?:\p{Nd}|;)*[a-zA-Z]/gu;
const CONTROL_CHARS = /[\x00-\x08\x0b\x0e-\x1f\x7f\u206a-\u206f\ufeff\ufff9-\ufffc]/g;

function fixSegment(text: string, unescapeHtml: boolean): string {
  for (;;) {
    const before = text;
    if (unescapeHtml) text = unescapeHtmlFtfy(text);
    text = fixEncoding(text);
    text = fixC1Controls(text);
    text = text.replace(LIGATURE_CHARS, (c) => LIGATURES[c]);
    text = fixCharacterWidth(text);
    text = text.replace(/[\u02bc\u2018-\u201b]/g, "'").replace(/[\u201c-\u201f]/g, '"');
    text = text.replace(/\r\n/g, '\n').replace(/[\r\u2028\u2029\x85]/g, '\n');
    text = text.replace(LONE_SURROGATE, '\ufffd');
    text = text.replace(ANSI_ESCAPE, '');
    text = text.replace(CONTROL_CHARS, '');
    text = text.normalize('NFC');
    if (text === before) return text;
  }
}

/** The ftfy 6.3.1 `fix_text` subset described at the top of this file. */
export function fixText(text: string): string {
  let unescapeHtml = true;
  let out = '';
  // ftfy fixes line by line; once a line holds '<' it treats the rest of the text as real HTML.
  for (const line of text.match(/[^\n]*\n|[^\n]+$/g) ?? []) {
    if (line.includes('<')) unescapeHtml = false;
    out += fixSegment(line, unescapeHtml);
  }
  return out;
}
