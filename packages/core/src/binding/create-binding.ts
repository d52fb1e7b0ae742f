import type { Tracker } from '../engine/api.js';
import { AnonError } from '../errors.js';
import type { HeaderSource, IdentifyKind, RequestInfo } from '../types.js';
import {
  DEFAULT_BEACON_PATH,
  type Endpoint,
  type EndpointAnswer,
  endpointTable,
  type ScriptAsset,
} from './endpoints.js';

/**
 * What a binding adds to every request (`req.anon`, `ctx.state.anon`, `request.anon`, `c.get('anon')`). Its
 * members work detached too (`const { identify } = req.anon`).
 */
export interface AnonHandle {
  /**
   * This page view's id, for the page to hand to the browser beacon; allocated on first read, null if the
   * tracker could not allocate one.
   */
  readonly viewId: string | null;
  /** Link this visitor to `userId`: call it in the sign-up (`'signup'`) and login (`'login'`) handlers. Never rejects. */
  identify(userId: string, kind: IdentifyKind): Promise<void>;
}

/**
 * The options every binding takes, its framework's context as `Ctx`. A hook is called when its request is
 * recorded (once the response is finished, so auth middleware has run); a hook that throws counts as unset.
 */
export interface BindingOptions<Ctx> {
  /** The signed-in user's id, or null/undefined for an anonymous visitor. @default every view anonymous */
  getUserId?(ctx: Ctx): string | null | undefined;
  /** A real-time scope this view counts in (e.g. `community:montreal`). @default none */
  scope?(ctx: Ctx): string | null | undefined;
  /** A page type the app names (`post`, `profile`, …). @default none */
  pageType?(ctx: Ctx): string | null | undefined;
  /** Where the browser beacon posts (answered by the binding, never tracked). @default '/_anon/e' */
  beaconPath?: string;
  /**
   * Where the binding serves the page script of `@anon/browser` (ETag, cached a year), or false to serve none.
   * @default '/_anon/script.js'
   */
  scriptPath?: string | false;
  /**
   * Count an SPA navigation the page script reports under the pattern of the app's GET route its path matches
   * (`/posts/42` → `/posts/:id`, as a page load of `/posts/42` is counted), where the binding can ask the
   * framework's router; false counts it under its path. The tracker's `routes` option is tried first.
   * @default true
   */
  matchRoutes?: boolean;
}

/** What a binding reads from its framework's request: the part of `RequestInfo` only the framework knows. */
export interface RequestView {
  method: string;
  /** Path and query as the browser asked for them (before any mount point rewrote them). */
  url: string;
  headers: HeaderSource;
  /** The client IP as the framework resolved it under its own trust-proxy setting. */
  ip: string | null | undefined;
  /**
   * The matched route pattern (`/posts/:id`, mount prefixes included) where the framework knows one. A catch-all
   * (`*`) or a non-string (a RegExp route) says nothing about the page: the kernel drops it for the path.
   */
  route: string | null | undefined;
}

/** How a binding describes its framework to `createBinding`. */
export interface BindingSpec<Ctx> {
  /** The framework's name, in error messages (`[anon] [express] …`). */
  framework: string;
  tracker: Tracker;
  options: BindingOptions<Ctx>;
  /** Maps one request to the view core needs. Called when the request is recorded; a throw skips the record. */
  request(ctx: Ctx): RequestView;
  /** The page script to serve (the bindings pass `@anon/browser`'s); `options.scriptPath` moves or disables it. */
  script?: ScriptAsset;
  /**
   * The framework router's pattern for a concrete path (`/posts/:id` for `/posts/42`, mount prefixes included),
   * the one a page load of that path is tracked under; null when no GET route matches. `ctx` is the beacon's
   * request. The beacon endpoint hands it to `tracker.beacon`, which maps SPA navigations with it (a throw, a
   * catch-all or a non-path answer counts as none); `options.matchRoutes: false` leaves it unused.
   */
  routeOf?(path: string, ctx: Ctx): string | null | undefined;
}

/** The shared kernel of a binding: everything but its framework's plumbing. No method throws or rejects. */
export interface Binding<Ctx> {
  /** The endpoints the binding answers itself (the beacon), for frameworks that register routes. */
  readonly endpoints: readonly Endpoint[];
  /** The endpoint `method` + `url` (query allowed) is for, or null for a request the app answers. */
  endpoint(method: string, url: string): Endpoint | null;
  /** Answers a request to `endpoint`; `body` reads its raw body (null past `maxBytes`). */
  serve(endpoint: Endpoint, ctx: Ctx, body: (maxBytes: number) => Promise<unknown>): Promise<EndpointAnswer>;
  /** The handle of a request the app answers: expose it on the framework's context. */
  open(ctx: Ctx): AnonHandle;
  /** Records the request `handle` was opened for, once its response is finished with `status`. */
  track(handle: AnonHandle, status: number): void;
}

/**
 * Builds the shared part of a framework binding: the `AnonHandle` with its lazy view id, the generic options,
 * the endpoints (beacon) and the error handling that keeps every tracker failure away from the response. The
 * binding maps its framework's request through `spec.request` and does its plumbing (middleware, hooks).
 *
 * @example
 * const binding = createBinding({ framework: 'micro', tracker, options, request: (req) => ({
 *   method: req.method, url: req.url, headers: req.headers, ip: req.ip, route: null }) });
 */
export function createBinding<Ctx>(spec: BindingSpec<Ctx>): Binding<Ctx> {
  const { tracker, options } = spec;
  const source = spec.framework;
  if (tracker === null || typeof tracker !== 'object' || typeof tracker.track !== 'function') {
    throw new AnonError('invalid_config', 'pass the tracker createTracker() returned', { source });
  }
  const beaconPath = options.beaconPath ?? DEFAULT_BEACON_PATH;
  if (!isPath(beaconPath)) {
    throw new AnonError('invalid_config', `beaconPath must be a path starting with "/", got ${beaconPath}`, {
      source,
    });
  }
  const scriptPath = options.scriptPath ?? spec.script?.path;
  if (scriptPath !== undefined && scriptPath !== false && !isPath(scriptPath)) {
    throw new AnonError('invalid_config', `scriptPath must be a path starting with "/", got ${scriptPath}`, {
      source,
    });
  }
  const script =
    spec.script === undefined || scriptPath === false || scriptPath === undefined
      ? null
      : { path: scriptPath, respond: spec.script.respond };
  const endpoints = endpointTable({ beaconPath, script });
  const methods = new Set(endpoints.map((endpoint) => endpoint.method));
  const { getUserId, scope, pageType } = options;
  const routeOf = options.matchRoutes === false ? undefined : spec.routeOf;
  const kernel: Kernel<Ctx> = {
    tracker,
    info: (ctx, status, viewId) => {
      const view = spec.request(ctx);
      return {
        method: view.method,
        url: view.url,
        headers: view.headers,
        ip: view.ip ?? null,
        status,
        route: routePattern(view.route),
        userId: callHook(getUserId, ctx),
        scope: callHook(scope, ctx),
        pageType: callHook(pageType, ctx),
        viewId,
      };
    },
  };
  return {
    endpoints,
    endpoint(method, url) {
      // Most requests are for the app: answer them without slicing their URL.
      if (!methods.has(method as Endpoint['method'])) return null;
      const query = url.indexOf('?');
      const path = query < 0 ? url : url.slice(0, query);
      for (const endpoint of endpoints)
        if (endpoint.method === method && endpoint.path === path) return endpoint;
      return null;
    },
    async serve(endpoint, ctx, body) {
      try {
        return await endpoint.serve({
          tracker,
          info: () => kernel.info(ctx, 200, null),
          body,
          ...(routeOf ? { routeOf: (path: string) => routeOf(path, ctx) } : {}),
        });
      } catch {
        // A failing tracker or body stream is the server's problem, not the browser's: never a 5xx.
        return { status: 204 };
      }
    },
    open: (ctx) => new RequestHandle(kernel, ctx),
    track: (handle, status) => RequestHandle.track(handle, status),
  };
}

function routePattern(route: unknown): string | null {
  return typeof route === 'string' && route !== '' && !route.includes('*') ? route : null;
}

/** Calls an app hook; a missing hook, an absent answer or a throw all mean null. */
export function callHook<Ctx>(
  hook: ((ctx: Ctx) => string | null | undefined) | undefined,
  ctx: Ctx,
): string | null {
  try {
    return hook?.(ctx) ?? null;
  } catch {
    return null;
  }
}

/** Runs `fn`, turning a throw into null: for the tracker calls that must never reach a request. */
export function attempt<T>(fn: () => T): T | null {
  try {
    return fn();
  } catch {
    return null;
  }
}

interface Kernel<Ctx> {
  readonly tracker: Tracker;
  info(ctx: Ctx, status: number, viewId: string | null): RequestInfo;
}

class RequestHandle<Ctx> implements AnonHandle {
  readonly #kernel: Kernel<Ctx>;
  readonly #ctx: Ctx;
  /** undefined until the app reads it: a view id nobody asked for is never allocated. */
  #viewId: string | null | undefined;

  constructor(kernel: Kernel<Ctx>, ctx: Ctx) {
    this.#kernel = kernel;
    this.#ctx = ctx;
  }

  get viewId(): string | null {
    if (this.#viewId === undefined) this.#viewId = attempt(() => this.#kernel.tracker.newViewId());
    return this.#viewId ?? null;
  }

  // An arrow, so that a detached `identify` keeps its request.
  readonly identify = async (userId: string, kind: IdentifyKind): Promise<void> => {
    try {
      // The status is not known while the handler runs; identify does not depend on it.
      await this.#kernel.tracker.identify(
        this.#kernel.info(this.#ctx, 200, this.#viewId ?? null),
        userId,
        kind,
      );
    } catch {
      // Analytics never breaks a sign-up or a login.
    }
  };

  static track(handle: AnonHandle, status: number): void {
    // A handle the app replaced is not ours to record.
    if (!(handle instanceof RequestHandle)) return;
    const kernel: Kernel<unknown> = handle.#kernel;
    attempt(() => kernel.tracker.track(kernel.info(handle.#ctx, status, handle.#viewId ?? null)));
  }
}

function isPath(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith('/') && !/[?#]/.test(value);
}
