/**
 * PHP settings of one site, inside the limits of the account's plan. They reach php-fpm as
 * PHP_ADMIN_VALUE lines from the site's nginx server block, so each site of a pool has its own
 * and the site's scripts cannot raise them with ini_set().
 */
import { ValidationError } from '../core/errors.ts';
import { PHP_SETTING_BOUNDS, type PhpSiteSettings } from '../protocol/web-state.ts';

export type { PhpSiteSettings } from '../protocol/web-state.ts';

/** What a site gets when nothing else is set; a plan's limits cap these. */
export const DEFAULT_PHP_SETTINGS: PhpSiteSettings = { memoryLimitMb: 256, uploadMaxMb: 64, maxExecutionSeconds: 60 };

const BOUNDS: Record<keyof PhpSiteSettings, readonly [number, number]> = PHP_SETTING_BOUNDS;

/** Checks an untrusted value and, when `limits` are given, that no setting exceeds them. */
export function validatePhpSettings(field: string, input: unknown, limits?: PhpSiteSettings): PhpSiteSettings {
  if (typeof input !== 'object' || input === null) throw new ValidationError(field, 'must be an object');
  const raw = input as Record<string, unknown>;
  const result = {} as PhpSiteSettings;
  for (const key of Object.keys(BOUNDS) as (keyof PhpSiteSettings)[]) {
    const value = raw[key];
    const [min, max] = BOUNDS[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw new ValidationError(`${field}.${key}`, `must be a whole number from ${min} to ${max}`);
    if (limits && value > limits[key]) throw new ValidationError(`${field}.${key}`, `must be at most ${limits[key]}, the plan's limit`);
    result[key] = value;
  }
  return result;
}

export function sameSettings(a: PhpSiteSettings, b: PhpSiteSettings): boolean {
  return a.memoryLimitMb === b.memoryLimitMb && a.uploadMaxMb === b.uploadMaxMb && a.maxExecutionSeconds === b.maxExecutionSeconds;
}

/** The PHP_ADMIN_VALUE lines of a site: its limits and its own PHP error log. */
export function phpAdminValues(settings: PhpSiteSettings, errorLog: string): string[] {
  return [
    `memory_limit=${settings.memoryLimitMb}M`,
    `upload_max_filesize=${settings.uploadMaxMb}M`,
    // The whole form (upload plus fields) must fit too.
    `post_max_size=${settings.uploadMaxMb + 8}M`,
    `max_execution_time=${settings.maxExecutionSeconds}`,
    `error_log=${errorLog}`,
  ];
}
