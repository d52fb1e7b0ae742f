import { Agent, request } from 'node:http';

/** One answer, with the client-side latency of the exchange. */
export interface Answer {
  status: number;
  body: string;
  ms: number;
}

const agent = new Agent({ keepAlive: true, maxSockets: 64 });

/** Headers of a page load from a browser (the request counts as a page view). */
export function browser(userAgent: string, extra: Record<string, string> = {}): Record<string, string> {
  return { accept: 'text/html,application/xhtml+xml', 'user-agent': userAgent, ...extra };
}

/** A desktop Chrome user agent made unique by `tag` (isbot and the headless rule leave it alone). */
export function humanUa(tag: string | number): string {
  return `Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.${tag} Safari/537.36`;
}

/**
 * One request to 127.0.0.1:`port`. Never rejects: a transport failure is status 0 with the error in `body`,
 * so a scenario counts it instead of stopping.
 */
export function send(
  port: number,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<Answer> {
  const started = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    const done = (status: number, body: string) => {
      if (settled) return;
      settled = true;
      resolve({ status, body, ms: performance.now() - started });
    };
    const req = request(
      { host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers, agent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => done(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8')));
        res.on('error', (error) => done(res.statusCode ?? 0, String(error)));
      },
    );
    // A server that answers 413 before reading a large body may close the socket while it is still being
    // written: the answer, if it came, is what counts.
    req.on('error', (error) => done(0, String(error)));
    if (options.body !== undefined) req.end(options.body);
    else req.end();
  });
}

/** Runs `count` tasks with at most `concurrency` in flight; returns their results in order. */
export async function inParallel<T>(
  count: number,
  concurrency: number,
  task: (i: number) => Promise<T>,
): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const i = next++;
      results[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  return results;
}

/** The p-th percentile (0–100) of `values`, nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
