// Content-Disposition for downloads, written by hand (RFC 6266 + RFC 8187): an ASCII `filename`
// for old clients and a percent-encoded UTF-8 `filename*`, so no robot name can break the header
// (quotes, backslashes, non-Latin-1 characters) or smuggle a path.

/** `attachment; filename="…"; filename*=UTF-8''…` for `<robot>.<extension>`. */
export function attachment(robot: string, extension: string): string {
  // Path separators would name a directory; browsers strip them, but not every client does.
  const name = `${robot.replace(/[/\\]/g, '_')}.${extension}`;
  const ascii = name.replace(/[^A-Za-z0-9 ._()-]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeRfc8187(name)}`;
}

/** Percent-encodes everything outside RFC 8187's attr-char set. */
function encodeRfc8187(value: string): string {
  return encodeURIComponent(value).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
