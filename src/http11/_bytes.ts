/**
 * Byte tables (token, field value, hex digits) and small byte/string helpers shared by the
 * HTTP/1.1 parser and writer (internal).
 *
 * @module
 */

/**
 * `tchar` of RFC 9110 §5.6.2: the bytes allowed in a token (method, header name,
 * transfer coding). 1 = allowed.
 */
export const TOKEN: Uint8Array = (() => {
  const table = new Uint8Array(256);
  const extra = "!#$%&'*+-.^_`|~";
  for (let c = 0x30; c <= 0x39; c++) table[c] = 1;
  for (let c = 0x41; c <= 0x5a; c++) table[c] = 1;
  for (let c = 0x61; c <= 0x7a; c++) table[c] = 1;
  for (let i = 0; i < extra.length; i++) table[extra.charCodeAt(i)] = 1;
  return table;
})();

/**
 * Bytes allowed inside a field value or a reason phrase: HTAB, SP, VCHAR and obs-text
 * (RFC 9110 §5.5). 1 = allowed. Every other control byte (NUL, CR, LF, DEL…) is refused.
 */
export const FIELD_VALUE: Uint8Array = (() => {
  const table = new Uint8Array(256);
  table[0x09] = 1;
  for (let c = 0x20; c <= 0x7e; c++) table[c] = 1;
  for (let c = 0x80; c <= 0xff; c++) table[c] = 1;
  return table;
})();

/** Value of each hex digit, or -1. */
export const HEX: Int8Array = (() => {
  const table = new Int8Array(256).fill(-1);
  for (let c = 0; c < 10; c++) table[0x30 + c] = c;
  for (let c = 0; c < 6; c++) {
    table[0x41 + c] = 10 + c;
    table[0x61 + c] = 10 + c;
  }
  return table;
})();

/**
 * Decodes bytes as Latin-1 (one char per byte), the way HTTP field bytes map to strings.
 * Short slices are decoded by hand, which is cheaper than `TextDecoder` for a few bytes.
 */
export function latin1(bytes: Uint8Array, start: number, end: number): string {
  const length = end - start;
  if (length <= 0) return "";
  if (length < 24) {
    let text = "";
    for (let i = start; i < end; i++) text += String.fromCharCode(bytes[i]);
    return text;
  }
  if (length < 4096) {
    return String.fromCharCode.apply(
      null,
      bytes.subarray(start, end) as unknown as number[],
    );
  }
  let text = "";
  for (let i = start; i < end; i += 4096) {
    text += String.fromCharCode.apply(
      null,
      bytes.subarray(i, Math.min(end, i + 4096)) as unknown as number[],
    );
  }
  return text;
}

/** Quotes a value for an error message, cut to a readable length. */
export function quote(text: string, max = 64): string {
  return JSON.stringify(text.length > max ? text.slice(0, max) + "…" : text);
}

/**
 * Removes optional whitespace (SP and HTAB only) around `text`. Not `String#trim`, which
 * also removes NBSP (0xA0) and other Unicode spaces that HTTP does not treat as space.
 */
export function trimOws(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && (text.charCodeAt(start) === 32 || text.charCodeAt(start) === 9)) start++;
  while (end > start && (text.charCodeAt(end - 1) === 32 || text.charCodeAt(end - 1) === 9)) end--;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}
