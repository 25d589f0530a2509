/**
 * Numeric settings read from the environment (FLEETPANEL_*): unset or empty means the default,
 * anything but a whole number at or above the setting's minimum is refused, naming the variable,
 * so a mistyped setting stops the process at start instead of being quietly ignored.
 */
import { ValidationError } from './errors.ts';

/** A whole number of at least `min` (default 1), or `undefined` when the variable is unset or empty. */
export function wholeNumberFromEnv(name: string, options: { min?: number; unit?: string } = {}, env: NodeJS.ProcessEnv = process.env): number | undefined {
  const text = env[name];
  if (text === undefined || text === '') return undefined;
  const min = options.min ?? 1;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) {
    throw new ValidationError(name, `must be a whole number${options.unit ? ` of ${options.unit}` : ''}, at least ${min} (got '${text}')`);
  }
  return value;
}

/** A period in whole milliseconds of at least 100, or `fallback` when the variable is unset or empty. */
export function msFromEnv(name: string, fallback: number, env: NodeJS.ProcessEnv = process.env): number {
  return wholeNumberFromEnv(name, { min: 100, unit: 'milliseconds' }, env) ?? fallback;
}
