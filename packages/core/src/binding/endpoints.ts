import { BEACON_MAX_BYTES } from '../beacon.js';
import type { Tracker } from '../engine/api.js';
import { headerValue } from '../normalize/headers.js';
import type { RequestInfo } from '../types.js';

/** Where the browser beacon posts unless a binding's `beaconPath` says otherwise. */
export const DEFAULT_BEACON_PATH = '/_anon/e';

/** One request to an endpoint anon answers itself, as the kernel hands it to the endpoint. */
export interface EndpointCall {
  readonly tracker: Tracker;
  /** The request as core sees it (status 200: the answer is not written yet; no view id). */
  info(): RequestInfo;
  /**
   * The raw body of at most `maxBytes`, or null when it is larger. A binding whose framework already parsed the
   * body may resolve the parsed value instead: `tracker.beacon` takes either.
   */
  body(maxBytes: number): Promise<unknown>;
  /** The app router's pattern for a path, where the binding offers one: passed on to `tracker.beacon`. */
  routeOf?(path: string): string | null | undefined;
}

/** What an endpoint answers; the binding writes it with its framework's own response API. */
export interface EndpointAnswer {
  status: number;
  /** Response headers to set, if any (names lower-case). */
  headers?: Readonly<Record<string, string>>;
  /** The body; none for an empty answer. */
  body?: string;
}

/**
 * An endpoint a binding serves before the app sees the request, never counted as a page view. Adding one (a
 * script, a health check) is one entry in `endpointTable`: every binding matches and writes answers generically.
 */
export interface Endpoint {
  readonly method: 'GET' | 'POST';
  /** The exact path (no query) it answers on. */
  readonly path: string;
  /** Answers the call. A throw is caught by the kernel and answered 204: never a 5xx for analytics. */
  serve(call: EndpointCall): Promise<EndpointAnswer>;
}

const JSON_TYPE: Readonly<Record<string, string>> = { 'content-type': 'application/json' };

/**
 * The page script a binding serves (`@anon/browser` provides it; core stays free of it): where, and how to
 * answer a `GET` given the request's `If-None-Match` (200 with the script, or 304).
 */
export interface ScriptAsset {
  path: string;
  respond(ifNoneMatch: string | null): {
    status: number;
    headers: Readonly<Record<string, string>>;
    body: string | null;
  };
}

/** The endpoints of a binding with these paths. */
export function endpointTable(paths: {
  beaconPath: string;
  script?: ScriptAsset | null;
}): readonly Endpoint[] {
  const script = paths.script ?? null;
  const scriptEndpoints: Endpoint[] =
    script === null
      ? []
      : [
          {
            method: 'GET',
            path: script.path,
            async serve(call) {
              const answer = script.respond(headerValue(call.info().headers, 'if-none-match'));
              // No body at all for a 304: an empty string would make some frameworks answer 200.
              return answer.body === null
                ? { status: answer.status, headers: answer.headers }
                : { status: answer.status, headers: answer.headers, body: answer.body };
            },
          },
        ];
  return [
    ...scriptEndpoints,
    {
      method: 'POST',
      path: paths.beaconPath,
      async serve(call) {
        const body = await call.body(BEACON_MAX_BYTES);
        if (body === null) return { status: 413 };
        const result = call.tracker.beacon(body, call.info(), { routeOf: call.routeOf });
        // An SPA navigation started a view: the browser script reports that page's engagement under its id.
        if (result.status === 200 && typeof result.viewId === 'string') {
          return { status: 200, headers: JSON_TYPE, body: JSON.stringify({ v: result.viewId }) };
        }
        return { status: result.status };
      },
    },
  ];
}
