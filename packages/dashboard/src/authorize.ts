/** What the server knows about a request beyond the Fetch `Request`: the Fetch API has no socket. */
export interface DashboardContext {
  /**
   * The peer address of the TCP connection (`req.socket.remoteAddress` in Node, `getConnInfo(c).remote.address`
   * in Hono). `toNodeHandler` fills it in; when mounting the Fetch handler yourself, pass it.
   */
  remoteAddress?: string | null;
}

/** Decides whether a request may see the dashboard. A hook that throws or rejects counts as a refusal. */
export type Authorize = (request: Request, context: DashboardContext) => boolean | Promise<boolean>;

// Headers a reverse proxy adds: their presence means the socket's peer is the proxy, not the person asking.
const FORWARDING_HEADERS = ['forwarded', 'x-forwarded-for', 'x-real-ip', 'x-forwarded-host'];

/** True for 127.0.0.0/8, ::1 and the IPv4-mapped form of 127.0.0.0/8 (`::ffff:127.0.0.1`). */
export function isLoopback(address: string | null | undefined): boolean {
  if (typeof address !== 'string') return false;
  let a = address.trim().toLowerCase();
  if (a.startsWith('[') && a.endsWith(']')) a = a.slice(1, -1);
  if (a === '::1' || a === '0:0:0:0:0:0:0:1') return true;
  if (a.startsWith('::ffff:')) a = a.slice(7);
  const parts = a.split('.');
  return (
    parts.length === 4 && parts[0] === '127' && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)
  );
}

/**
 * The default `authorize`: only a request whose connection comes from loopback and that carries no proxy
 * forwarding header. An app behind a reverse proxy on the same machine sees every visitor as 127.0.0.1;
 * the forwarding headers keep the dashboard closed to them, but such an app should provide `authorize`.
 */
export function loopbackOnly(request: Request, context: DashboardContext): boolean {
  if (!isLoopback(context.remoteAddress)) return false;
  return FORWARDING_HEADERS.every((name) => !request.headers.has(name));
}
