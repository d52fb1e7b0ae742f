import { isbot } from 'isbot';
import type { BotReason, BotVerdict } from '../types.js';

/**
 * Automation markers that isbot's crawler list does not all carry: headless browsers and drivers used to
 * script page loads. `Electron` is here because scripted Electron windows are a common scraping tool.
 */
const HEADLESS =
  /Headless|PhantomJS|Puppeteer|Playwright|Selenium|WebDriver|Electron\/|SlimerJS|Nightmare|HtmlUnit|jsdom\/|Zombie|Cypress|CasperJS|Splash/i;

/** True when the user agent names a headless browser or an automation driver. */
export function isHeadless(userAgent: string): boolean {
  return HEADLESS.test(userAgent);
}

/** True when isbot's list of crawlers, spiders, monitors and HTTP libraries matches. */
export function isCrawler(userAgent: string): boolean {
  return isbot(userAgent);
}

/** The bot verdict of one user agent (the per-minute `rate` reason is the session reducer's). */
export function botVerdict(userAgent: string, crawler: boolean, headless: boolean): BotVerdict {
  const reasons: BotReason[] = [];
  if (userAgent.trim() === '') reasons.push('empty-user-agent');
  if (crawler) reasons.push('user-agent');
  if (headless) reasons.push('headless');
  return { isBot: reasons.length > 0, reasons };
}
