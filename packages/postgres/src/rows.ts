import type { Conversion, Touch } from '@anon/core';
import { dayText, ms } from './sql.js';

/** Select list (alias `s`) whose camelCase aliases make each row a `Session` as is. */
export const SESSION_SELECT = `s.id, s.visitor_key AS "visitorKey", s.user_id AS "userId",
  ${ms('s.started_at')} AS "startedAt", ${dayText('s.day')} AS day, ${ms('s.last_seen_at')} AS "lastSeenAt",
  ${ms('s.ended_at')} AS "endedAt", s.duration_ms::float8 AS "durationMs", s.page_views AS "pageViews",
  s.landing_path AS "landingPath", s.exit_path AS "exitPath", s.referrer, s.referrer_host AS "referrerHost",
  s.utm_source AS "utmSource", s.utm_medium AS "utmMedium", s.utm_campaign AS "utmCampaign",
  s.utm_term AS "utmTerm", s.utm_content AS "utmContent", s.device, s.browser, s.os, s.country, s.city,
  s.is_bot AS "isBot", s.converted_user_id AS "convertedUserId", ${ms('s.converted_at')} AS "convertedAt"`;

/** Select list (alias `a`) whose aliases make each row a `DailyAggregate`. */
export const AGGREGATE_SELECT = `${dayText('a.day')} AS day, a.path, a.views::float8 AS views,
  a.authenticated_views::float8 AS "authenticatedViews", a.anonymous_views::float8 AS "anonymousViews",
  a.unique_visitors::float8 AS "uniqueVisitors", a.time_on_page_sum_ms AS "timeOnPageSumMs",
  a.time_on_page_count::float8 AS "timeOnPageCount", a.scroll_depth_sum AS "scrollDepthSum",
  a.scroll_depth_count::float8 AS "scrollDepthCount", a.interactions,
  a.mobile_views::float8 AS "mobileViews", a.desktop_views::float8 AS "desktopViews",
  a.tablet_views::float8 AS "tabletViews", a.bot_views::float8 AS "botViews",
  a.bot_authenticated_views::float8 AS "botAuthenticatedViews"`;

const touchSelect = (
  p: string,
) => `c.${p}_session_id AS "${p}SessionId", c.${p}_landing_path AS "${p}LandingPath",
  ${ms(`c.${p}_started_at`)} AS "${p}StartedAt", c.${p}_referrer AS "${p}Referrer",
  c.${p}_referrer_host AS "${p}ReferrerHost", c.${p}_utm_source AS "${p}UtmSource",
  c.${p}_utm_medium AS "${p}UtmMedium", c.${p}_utm_campaign AS "${p}UtmCampaign",
  c.${p}_utm_term AS "${p}UtmTerm", c.${p}_utm_content AS "${p}UtmContent"`;

/** Select list (alias `c`) read back into a `Conversion` by `toConversion`. */
export const CONVERSION_SELECT = `c.id, c.user_id AS "userId", c.kind, ${ms('c.at')} AS at, ${dayText('c.day')} AS day,
  c.session_ids AS "sessionIds", c.pages_before AS "pagesBefore", c.ms_before::float8 AS "msBefore",
  ${touchSelect('first')}, ${touchSelect('last')}`;

type Row = Record<string, unknown>;

function toTouch(row: Row, p: 'first' | 'last'): Touch | null {
  const sessionId = row[`${p}SessionId`];
  if (sessionId === null || sessionId === undefined) return null;
  return {
    sessionId: sessionId as string,
    landingPath: row[`${p}LandingPath`] as string,
    startedAt: row[`${p}StartedAt`] as number,
    referrer: row[`${p}Referrer`] as string | null,
    referrerHost: row[`${p}ReferrerHost`] as string | null,
    utmSource: row[`${p}UtmSource`] as string | null,
    utmMedium: row[`${p}UtmMedium`] as string | null,
    utmCampaign: row[`${p}UtmCampaign`] as string | null,
    utmTerm: row[`${p}UtmTerm`] as string | null,
    utmContent: row[`${p}UtmContent`] as string | null,
  };
}

/** A `CONVERSION_SELECT` row as a `Conversion` (a touch is null when its session id is). */
export function toConversion(row: Row): Conversion {
  return {
    id: row.id as string,
    userId: row.userId as string,
    kind: row.kind as Conversion['kind'],
    at: row.at as number,
    day: row.day as string,
    sessionIds: row.sessionIds as string[],
    firstTouch: toTouch(row, 'first'),
    lastTouch: toTouch(row, 'last'),
    pagesBefore: row.pagesBefore as number,
    msBefore: row.msBefore as number | null,
  };
}
