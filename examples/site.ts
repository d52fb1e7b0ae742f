import type { ActiveVisitors, SessionsReport, TopPageRow } from '@anon/core';
// Shared by every example: the pages are the same so that each example differs only in how it wires anon.

// The demo site: a few pages as plain HTML strings (no template engine, so the example shows anon and nothing
// else), the browser beacon, and a demo sign-up that remembers the user in a cookie of the app's own.

/** The posts the site serves at `/posts/:id`. */
export const POSTS: Readonly<Record<string, string>> = {
  '1': 'Counting visits without cookies',
  '2': 'Sessions, journeys and conversions',
  '3': 'Why the raw IP is never stored',
};

/** The cookie the demo sign-up sets; a real app has its own login. It is the app's, never anon's. */
export const USER_COOKIE = 'demo_user';

const USER_ID = /^user-[0-9a-f]{8}$/;

/** The signed-in demo user from a `Cookie` header, or null. */
export function demoUser(cookieHeader: string | undefined | null): string | null {
  for (const part of (cookieHeader ?? '').split(';')) {
    const [name, value] = part.trim().split('=');
    if (name === USER_COOKIE && value !== undefined && USER_ID.test(value)) return value;
  }
  return null;
}

/** A fresh demo user id (a real app creates an account here). */
export function newUserId(): string {
  return `user-${crypto.randomUUID().slice(0, 8)}`;
}

/** Everything the stats page shows. */
export interface Stats {
  day: string;
  top: TopPageRow[];
  sessions: SessionsReport;
  signups: number;
  active: ActiveVisitors;
}

/** Escapes text for HTML: paths and referrers in reports come from requests. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * Sends the view's engaged time and scroll depth when the page is hidden, as the beacon format of
 * `@anon/core` says (`{ t: 'e', v, ms, sd }`), to the binding's `POST /_anon/e`.
 */
const BEACON_SCRIPT = `(() => {
  const v = document.currentScript.dataset.view;
  if (!v) return;
  const start = performance.now();
  let depth = 0;
  const measure = () => {
    const h = document.documentElement;
    depth = Math.max(depth, Math.min(100, Math.round((100 * (scrollY + innerHeight)) / h.scrollHeight)));
  };
  addEventListener('scroll', measure, { passive: true });
  measure();
  addEventListener('pagehide', () => {
    navigator.sendBeacon('/_anon/e', JSON.stringify({ t: 'e', v, ms: Math.round(performance.now() - start), sd: depth }));
  });
})();`;

function layout(title: string, body: string, viewId: string | null, user: string | null): string {
  const who = user === null ? 'anonymous visitor' : `signed in as ${escapeHtml(user)}`;
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body>
<nav><a href="/">Home</a> · <a href="/posts/1">Post 1</a> · <a href="/posts/2">Post 2</a> ·
<a href="/posts/3">Post 3</a> · <a href="/signup">Sign up</a> · <a href="/stats">Stats</a> — <em>${who}</em></nav>
<main>${body}</main>
<script data-view="${escapeHtml(viewId ?? '')}">${BEACON_SCRIPT}</script>
</body>
</html>`;
}

/** The home page. */
export function homePage(viewId: string | null, user: string | null): string {
  const links = Object.entries(POSTS)
    .map(([id, title]) => `<li><a href="/posts/${id}">${escapeHtml(title)}</a></li>`)
    .join('');
  return layout(
    'anon example',
    `<h1>anon example</h1><p>Browse a little, then open <a href="/stats">/stats</a>.</p><ul>${links}</ul>`,
    viewId,
    user,
  );
}

/** A post, or null when there is none with this id. */
export function postPage(id: string, viewId: string | null, user: string | null): string | null {
  const title = POSTS[id];
  if (title === undefined) return null;
  return layout(
    title,
    `<h1>${escapeHtml(title)}</h1><p>${'Some text to scroll through. '.repeat(200)}</p>`,
    viewId,
    user,
  );
}

/** The sign-up form: one button, no fields (the demo invents the user). */
export function signupPage(viewId: string | null, user: string | null): string {
  return layout(
    'Sign up',
    '<h1>Sign up</h1><form method="post" action="/signup"><button>Create my account</button></form>',
    viewId,
    user,
  );
}

/** Shown after signing up. */
export function welcomePage(viewId: string | null, user: string | null): string {
  return layout(
    'Welcome',
    '<h1>Welcome!</h1><p>Your anonymous visits are now linked to your account.</p>',
    viewId,
    user,
  );
}

/** Today's reports. */
export function statsPage(stats: Stats): string {
  const rows = stats.top
    .map(
      (r) =>
        `<tr><td>${escapeHtml(r.path)}</td><td>${r.views}</td><td>${r.uniqueVisitors}</td><td>${r.authenticatedViews}</td><td>${r.anonymousViews}</td><td>${r.avgTimeOnPageMs === null ? '–' : `${Math.round(r.avgTimeOnPageMs / 1000)} s`}</td></tr>`,
    )
    .join('');
  const s = stats.sessions;
  return layout(
    'Stats',
    `<h1>Today (${escapeHtml(stats.day)}, UTC)</h1>
<p>${stats.active.total} active visitor(s) in the last 5 minutes (${stats.active.authenticated} signed in, ${stats.active.anonymous} anonymous) · ${s.sessions} session(s), ${s.pageViews} page view(s),
bounce rate ${s.bounceRate === null ? '–' : `${Math.round(s.bounceRate * 100)} %`} · ${stats.signups} sign-up(s)</p>
<table border="1" cellpadding="4"><tr><th>page</th><th>views</th><th>unique visitors</th><th>signed in</th><th>anonymous</th><th>avg time</th></tr>${rows}</table>
<p>Page views are written by the worker a moment after they happen; sessions are summarized on their first
view, every 5th, and when they end (30 minutes idle). This page itself is not tracked.</p>`,
    null,
    null,
  );
}
