// Number text for exports. `String(n)` is the shortest text that parses back to the same double,
// so exports round-trip exactly; two cases need care.

/** Like String(n), but -0 stays "-0" (String gives "0"), so a replay stores the same double. */
export function exactNumber(n: number): string {
  return n === 0 && 1 / n < 0 ? '-0' : String(n);
}

/**
 * The same digits without an exponent ("1e-7" → "0.0000001", "1e+21" → "1000000000000000000000"),
 * for formats whose numbers are xsd:decimal (GPX), which has no exponent notation.
 */
export function plainDecimal(n: number): string {
  const text = exactNumber(n);
  const e = text.indexOf('e');
  if (e < 0) return text;
  const negative = text.charCodeAt(0) === 45; // '-'
  const mantissa = text.slice(negative ? 1 : 0, e);
  const exponent = Number(text.slice(e + 1));
  const dot = mantissa.indexOf('.');
  const digits = dot < 0 ? mantissa : mantissa.slice(0, dot) + mantissa.slice(dot + 1);
  // Position of the decimal point within `digits` once the exponent is applied.
  const point = (dot < 0 ? mantissa.length : dot) + exponent;
  let plain: string;
  if (point <= 0) plain = `0.${'0'.repeat(-point)}${digits}`;
  else if (point >= digits.length) plain = digits + '0'.repeat(point - digits.length);
  else plain = `${digits.slice(0, point)}.${digits.slice(point)}`;
  return negative ? `-${plain}` : plain;
}
