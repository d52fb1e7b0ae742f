import { DEFAULT_CONFIG, type TrackerConfig } from '../config.js';
import { AnonError } from '../errors.js';

const IP_MODES = ['drop', 'truncate', 'full'] as const;
const DNT_MODES = ['aggregate', 'ignore-signal', 'skip'] as const;

/**
 * The tracker's config: `DEFAULT_CONFIG` with the options given on top (only the config keys; ports and hooks
 * stay out), validated. Throws `AnonError('invalid_config')` naming the option at fault.
 */
export function resolveConfig(options: Partial<TrackerConfig>): TrackerConfig {
  const config = { ...DEFAULT_CONFIG } as TrackerConfig;
  const target = config as unknown as Record<string, unknown>;
  for (const key of Object.keys(DEFAULT_CONFIG) as (keyof TrackerConfig)[]) {
    const value = options[key];
    if (value !== undefined) target[key] = Array.isArray(value) ? [...value] : value;
  }

  positive(config.sessionTimeoutMs, 'sessionTimeoutMs');
  positive(config.realtimeWindowMs, 'realtimeWindowMs');
  positive(config.conversionWindowMs, 'conversionWindowMs');
  positive(config.botMaxViewsPerMinute, 'botMaxViewsPerMinute');
  positive(config.retentionDays, 'retentionDays');
  positive(config.maxPathsPerDay, 'maxPathsPerDay');
  const authenticatedDays = config.authenticatedRetentionDays;
  if (authenticatedDays !== null && !(Number.isSafeInteger(authenticatedDays) && authenticatedDays >= 1)) {
    fail(`authenticatedRetentionDays must be null or an integer >= 1, got ${String(authenticatedDays)}`);
  }
  if (typeof config.retention !== 'boolean')
    fail(`retention must be a boolean, got ${String(config.retention)}`);
  if (!Number.isInteger(config.persistEvery) || config.persistEvery < 1) {
    fail(`persistEvery must be an integer >= 1, got ${String(config.persistEvery)}`);
  }
  if (!Number.isInteger(config.uaCacheSize) || config.uaCacheSize < 1) {
    fail(`uaCacheSize must be an integer >= 1, got ${String(config.uaCacheSize)}`);
  }
  if (!(IP_MODES as readonly unknown[]).includes(config.ipMode)) {
    fail(`ipMode must be one of ${IP_MODES.join(', ')}, got ${String(config.ipMode)}`);
  }
  if (!(DNT_MODES as readonly unknown[]).includes(config.doNotTrack)) {
    fail(`doNotTrack must be one of ${DNT_MODES.join(', ')}, got ${String(config.doNotTrack)}`);
  }
  if (typeof config.site !== 'string' || config.site === '') fail('site must be a non-empty string');
  for (const key of ['queryAllowlist', 'excludePaths', 'methods', 'routes'] as const) {
    const list = config[key];
    if (!Array.isArray(list) || list.some((item) => typeof item !== 'string')) {
      fail(`${key} must be an array of strings`);
    }
  }
  for (const route of config.routes) {
    if (!route.startsWith('/'))
      fail(`routes must be patterns starting with '/', got ${JSON.stringify(route)}`);
  }
  if (typeof config.timeZone !== 'string' || !isTimeZone(config.timeZone)) {
    fail(`timeZone must be an IANA time zone (e.g. 'Europe/Paris'), got ${String(config.timeZone)}`);
  }
  return config;
}

function positive(value: unknown, name: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    fail(`${name} must be a positive number, got ${String(value)}`);
  }
}

function isTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}

function fail(message: string): never {
  throw new AnonError('invalid_config', message);
}
