/**
 * User agents for the bench: realistic ones (warm and cold UA cache) and hostile ones (ReDoS shapes, huge
 * headers). Generated, so the bench ships no corpus file.
 */

const TEMPLATES: ((n: number) => string)[] = [
  (n) =>
    `Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${100 + (n % 40)}.0.${n % 7000}.${n % 200} Safari/537.36`,
  (n) =>
    `Mozilla/5.0 (iPhone; CPU iPhone OS ${15 + (n % 4)}_${n % 8} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/${15 + (n % 4)}.${n % 8} Mobile/15E${148 + (n % 900)} Safari/604.1`,
  (n) =>
    `Mozilla/5.0 (Linux; Android ${10 + (n % 5)}; SM-G${990 + (n % 9)}${String.fromCharCode(65 + (n % 26))}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${100 + (n % 40)}.0.${n % 7000}.${n % 200} Mobile Safari/537.36`,
  (n) =>
    `Mozilla/5.0 (X11; Linux x86_64; rv:${100 + (n % 40)}.${n % 10}) Gecko/20100101 Firefox/${100 + (n % 40)}.${n % 10}`,
  (n) =>
    `Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_${n % 8}) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/${16 + (n % 3)}.${n % 6} Safari/605.1.15`,
  (n) =>
    `Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${100 + (n % 40)}.0.0.0 Safari/537.36 Edg/${100 + (n % 40)}.0.${n % 3000}.${n % 100}`,
  (n) =>
    `Mozilla/5.0 (iPad; CPU OS ${15 + (n % 4)}_${n % 8} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/${15 + (n % 4)}.${n % 8} Mobile/15E148 Safari/604.1`,
];

/** The `n`-th realistic browser user agent; distinct for every `n` below several million. */
export function browserAgent(n: number): string {
  const template = TEMPLATES[n % TEMPLATES.length]!;
  // The counter suffix keeps every n distinct while the string stays a plausible browser UA.
  return `${template(Math.floor(n / TEMPLATES.length))} anon-bench/${n}`;
}

/** One hostile user agent and where its shape comes from. */
export interface HostileAgent {
  name: string;
  ua: string;
}

/** `head`, then `unit` repeated to reach `length` characters, then `tail`. */
function pump(head: string, unit: string, length: number, tail: string): string {
  const times = Math.max(1, Math.ceil((length - head.length - tail.length) / unit.length));
  return head + unit.repeat(times) + tail;
}

/**
 * Hostile user agents from 500 to 16,000 characters (Node's default header limit is 16 KiB). The shapes are
 * those of ua-parser-js's past ReDoS advisories (CVE-2020-7733: the Redmi / Mi Pad device regex;
 * CVE-2021-27292: exponential backtracking in the browser regexes; CVE-2022-25927 / GHSA-fhg7-m89q-25r3:
 * the whitespace `trim` regex) and of the ReDoS corpus the uap-core project tests its regexes against, plus
 * generic backtracking bait (long digit runs, unclosed parentheses, repeated tokens).
 */
export function hostileAgents(): HostileAgent[] {
  const out: HostileAgent[] = [];
  for (const length of [500, 2_000, 8_000, 16_000]) {
    const shapes: [string, string][] = [
      ['CVE-2020-7733 Redmi', pump('Mozilla/5.0 (Linux; Android 9; Redmi', ' ', length, '!')],
      ['CVE-2020-7733 Redmi note', pump('Mozilla/5.0 (Linux; Android 9; Redmi Note', '_ ', length, '!')],
      ['CVE-2020-7733 Mi Pad', pump('Mozilla/5.0 (Linux; Android 8.1; Mi Pad', ' ', length, 'x')],
      ['CVE-2021-27292 version digits', pump('Mozilla/5.0 Chrome/', '1.', length, '!')],
      ['CVE-2021-27292 opera mobi', pump('Opera/', 'Opera Mobi', length, '!')],
      ['CVE-2022-25927 trim spaces', pump('a', ' ', length, 'a')],
      ['CVE-2022-25927 trim tabs', pump('Mozilla/5.0', '\t', length, 'x')],
      ['CVE-2022-25927 trim nbsp', pump('x', '\u00a0', length, 'y')],
      ['uap SmartWatch', pump('SmartWatch', ' ', length, 'z')],
      ['uap HbbTV', pump('HbbTV/0.0.0 (;LGE;', ' ', length, 'z')],
      ['uap Huawei build', pump(';A Build HuaweiA', '4', length, 'z')],
      ['uap AppleWebKit zeros', pump('AppleWebKit/1.', '0', length, '!')],
      ['uap Safari repeat', pump('AppleWebKit/1.1', ' Safari', length, '!')],
      ['uap Mobile repeat', pump('Mozilla', 'Mobile', length, '!')],
      ['uap Android repeat', pump('Mozilla', 'Android', length, '!')],
      ['unclosed parentheses', pump('Mozilla/5.0 ', '(', length, '')],
      ['semicolon soup', pump('Mozilla/5.0 (', 'Linux; U; ', length, 'Build/')],
      ['bot token run', pump('Mozilla/5.0 (compatible; ', 'bot', length, '')],
      ['headless repeat', pump('Mozilla/5.0 ', 'HeadlessChrome/1.0 ', length, '')],
    ];
    for (const [name, ua] of shapes) out.push({ name: `${name} (${ua.length} chars)`, ua });
  }
  return out;
}
