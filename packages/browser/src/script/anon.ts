// The page script: compiled alone to one ES2017 IIFE (`dist/anon.min.js`), never imported by the npm entry.
import { engagementMeter } from './engagement.js';

declare global {
  interface Window {
    /** Set to true before the script runs to turn it off on this page. */
    anonOff?: boolean;
  }
  interface Navigator {
    /** Global Privacy Control (https://globalprivacycontrol.org); sent as `Sec-GPC: 1` with every request. */
    globalPrivacyControl?: boolean;
  }
}

/** Engagement stops counting this long after the last pointer, key, scroll or touch. */
const IDLE_MS = 15_000;

(() => {
  const w = window;
  const d = document;
  const n = navigator;
  const h = history;
  const s = d.currentScript;
  // The server gets DNT / Sec-GPC with every beacon, keeps no engagement for such a visitor and refuses its SPA
  // navigations (an aggregate-only visitor has no last view to check them against): nothing is worth sending.
  if (!s || s.hasAttribute('data-anon-off') || w.anonOff || n.doNotTrack === '1' || n.globalPrivacyControl) {
    return;
  }
  const endpoint = s.getAttribute('data-beacon') || '/_anon/e';
  // This page's view id; null while unknown (the tag had none, or the navigation to this page is unanswered or
  // was answered without one): engagement that cannot be tied to its view is not sent.
  let view = s.getAttribute('data-view');
  // The latest view id the server issued to this tab: the page a navigation leaves, once earlier ones are answered.
  let last = view;
  const now = () => performance.now();
  const hidden = () => d.visibilityState === 'hidden';
  const here = () => location.href.split('#')[0];
  let page = here();
  let meter = engagementMeter(IDLE_MS, now(), !hidden());
  let depth = 0;
  let interactions = 0;
  // The last engagement body sent: a hide followed by a pagehide sends nothing twice.
  let sent = '';
  let queue: Promise<unknown> = Promise.resolve();

  const noop = () => undefined;
  const send = (body: string) => fetch(endpoint, { method: 'POST', body, keepalive: true });
  // sendBeacon survives the page being closed; it refuses (false) past the browser's in-flight quota.
  const beacon = (body: string) => n.sendBeacon(endpoint, body) || send(body).catch(noop);

  const measure = () => {
    const e = d.documentElement;
    depth = Math.max(depth, Math.min(100, Math.round((100 * (scrollY + innerHeight)) / e.scrollHeight)) || 0);
  };

  /** This page's engagement so far, as a beacon body for its view id (known later after a navigation). */
  const engagement = () => {
    measure();
    const ms = Math.round(meter.read(now()));
    const sd = depth;
    const ix = interactions;
    return (v: string) => JSON.stringify({ t: 'e', v, ms, sd, ix });
  };

  const report = () => {
    const body = view && engagement()(view);
    if (body && body !== sent) {
      sent = body;
      beacon(body);
    }
  };

  const navigate = () => {
    const url = here();
    if (url === page) return;
    // Taken now, sent under the left page's id once every earlier navigation is answered (`last`).
    const left = engagement();
    const referrer = page;
    page = url;
    view = null;
    meter = engagementMeter(IDLE_MS, now(), !hidden());
    depth = interactions = 0;
    sent = '';
    queue = queue
      // The page being left reports first, and is answered first: the server ties engagement only to the
      // visitor's latest view, which the navigation is about to replace.
      .then((): unknown => last && send(left(last)))
      // A lost engagement report must not lose the navigation too.
      .catch(noop)
      // `v` names the view navigated from: the server counts the navigation only while it is the latest.
      .then(() => send(JSON.stringify({ t: 'p', v: last, u: url, r: referrer })))
      // A server that answers the new view's id (200 `{"v"}`) lets this page report; a bare 204 leaves it none.
      .then((response) => response.json())
      .then((answer: { v?: unknown }) => answer.v, noop)
      .then((id) => {
        last = typeof id === 'string' ? id : null;
        if (page === url) view = last;
      });
  };

  for (const key of ['pushState', 'replaceState'] as const) {
    const original = h[key];
    h[key] = function (this: History, ...args: Parameters<History['pushState']>) {
      const result = original.apply(this, args);
      navigate();
      return result;
    };
  }
  w.addEventListener('popstate', navigate);
  w.addEventListener('pagehide', report);
  d.addEventListener('visibilitychange', () => {
    meter.show(now(), !hidden());
    if (hidden()) report();
  });
  const listen = { capture: true, passive: true };
  const activity = (event: Event) => {
    meter.act(now());
    const type = event.type;
    if (type === 'scroll') measure();
    else if (type === 'click' || (type === 'keydown' && !(event as KeyboardEvent).repeat)) interactions++;
  };
  for (const type of 'pointerdown pointermove keydown click scroll touchstart'.split(' ')) {
    w.addEventListener(type, activity, listen);
  }
  measure();
})();
