/**
 * Reads a Fetch `Request` body of at most `maxBytes` as UTF-8; resolves null when it is larger. Past the limit
 * the rest is drained without being kept: cancelling the stream would, on some servers, close the connection
 * before the 413 is sent.
 */
export async function readBody(req: Request, maxBytes: number): Promise<string | null> {
  if (Number(req.headers.get('content-length')) > maxBytes) return null;
  if (req.body === null) return '';
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size <= maxBytes) chunks.push(value);
  }
  if (size > maxBytes) return null;
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}
