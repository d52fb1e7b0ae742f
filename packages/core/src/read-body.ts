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

/**
 * Reads a Node request body of at most `maxBytes` as UTF-8 for the beacon endpoint of a binding; resolves null
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
    const onEnd = () => {
      const bytes = new Uint8Array(size);
      let offset = 0;
      for (const chunk of chunks) {
        bytes.set(chunk, offset);
        offset += chunk.byteLength;
      }
      resolve(new TextDecoder().decode(bytes));
    };
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', () => resolve(''));
  });
}
