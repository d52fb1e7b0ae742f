import type { IncomingMessage } from 'node:http';

/**
 * Reads a request body of at most `maxBytes` as UTF-8; resolves null when it is larger. Past the limit the rest
 * is drained without being kept, so the connection stays usable for the 413 and the next request.
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<string | null> {
  if (Number(req.headers['content-length']) > maxBytes) return Promise.resolve(null);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) {
        chunks.push(chunk);
        return;
      }
      req.off('data', onData);
      req.off('end', onEnd);
      req.resume();
      resolve(null);
    };
    const onEnd = () => resolve(Buffer.concat(chunks).toString('utf8'));
    req.on('data', onData);
    req.once('end', onEnd);
    // An aborted upload has no response to get; an empty body makes the caller answer 400 into the void.
    req.once('error', () => resolve(''));
  });
}
