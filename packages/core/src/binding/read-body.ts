// biome-ignore lint/suspicious/noExplicitAny: Node's EventEmitter listener type, matched structurally.
type NodeListener = (...args: any[]) => void;

/** A Node `IncomingMessage`, seen structurally so core needs no Node types. */
export interface NodeBodyStream {
  headers: Record<string, string | string[] | undefined>;
  on(event: string, listener: NodeListener): unknown;
  off(event: string, listener: NodeListener): unknown;
  once(event: string, listener: NodeListener): unknown;
  resume(): unknown;
}

/** The part of a Fetch `Request` a body is read from. */
export interface FetchBodySource {
  readonly headers: { get(name: string): string | null };
  readonly body: ReadableStream<Uint8Array> | null;
}

/**
 * Reads a Node request body of at most `maxBytes` as UTF-8, for an endpoint a binding serves; resolves null
 * when it is larger. Past the limit the rest is drained without being kept, so the connection stays usable for
 * the 413 and the next request. An aborted upload resolves '' (the caller answers 400 into the void).
 */
export function readNodeBody(req: NodeBodyStream, maxBytes: number): Promise<string | null> {
  if (Number(req.headers['content-length']) > maxBytes) return Promise.resolve(null);
  return new Promise((resolve) => {
    const chunks: Uint8Array[] = [];
    let size = 0;
    const onData = (chunk: Uint8Array) => {
      size += chunk.byteLength;
      if (size <= maxBytes) {
        chunks.push(chunk);
        return;
      }
      req.off('data', onData);
      req.off('end', onEnd);
      req.resume();
      resolve(null);
    };
    const onEnd = () => resolve(decode(chunks, size));
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', () => resolve(''));
  });
}

/**
 * Reads a Fetch `Request` body of at most `maxBytes` as UTF-8, for an endpoint a binding serves on a Fetch
 * runtime; resolves null when it is larger. Past the limit the rest is drained without being kept: cancelling
 * the stream would, on some servers, close the connection before the 413 is sent.
 */
export async function readFetchBody(req: FetchBodySource, maxBytes: number): Promise<string | null> {
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
  return size > maxBytes ? null : decode(chunks, size);
}

function decode(chunks: readonly Uint8Array[], size: number): string {
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}
