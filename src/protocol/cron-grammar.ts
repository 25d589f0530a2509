/**
 * The cron grammar of scheduled tasks: what a line of the node's cron file may say in its schedule
 * and command fields. Stricter than cron itself, so a schedule means one thing to a reader.
 */
import { checkSafeLine, type Checker } from '../core/grammar.ts';

export const CRON_MACROS = ['@hourly', '@daily', '@weekly', '@monthly', '@reboot'] as const;

const CRON_FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12 },
  { name: 'day of week', min: 0, max: 7 },
] as const;

function checkCronField(text: string, field: (typeof CRON_FIELDS)[number]): string | null {
  const bad = `${field.name} '${text}' must be *, a number, a range a-b, a step */n or a-b/n, or a comma list of those (${field.min}-${field.max})`;
  for (const item of text.split(',')) {
    const match = /^(\*|(\d{1,2})(?:-(\d{1,2}))?)(?:\/(\d{1,2}))?$/.exec(item);
    if (!match) return bad;
    const [, , firstText, lastText, stepText] = match;
    if (firstText !== undefined) {
      const first = Number(firstText);
      const last = lastText === undefined ? first : Number(lastText);
      if (first < field.min || last > field.max) return `${field.name} '${item}' is outside ${field.min}-${field.max}`;
      if (first > last) return `${field.name} range '${item}' runs backwards`;
      // cron reads 'a/n' as 'a-max/n'; accepting it would hide a likely mistake.
      if (stepText !== undefined && lastText === undefined) return `${field.name} step '${item}' needs a range or * before the /`;
    }
    if (stepText !== undefined) {
      const step = Number(stepText);
      if (step < 1 || step > field.max) return `${field.name} step '${item}' must be 1 to ${field.max}`;
    }
  }
  return null;
}

export const checkCronSchedule: Checker = (value) => {
  if ((CRON_MACROS as readonly string[]).includes(value)) return null;
  if (value.startsWith('@')) return `must be five cron fields or one of ${CRON_MACROS.join(', ')}`;
  const fields = value.split(' ');
  if (fields.length !== 5 || fields.some((f) => f === '')) return 'must be five cron fields separated by single spaces (minute hour day-of-month month day-of-week)';
  for (let i = 0; i < 5; i++) {
    const reason = checkCronField(fields[i]!, CRON_FIELDS[i]!);
    if (reason !== null) return reason;
  }
  return null;
};

/** A command is one line handed to /bin/sh by cron. */
export const checkCronCommand: Checker = (value) => {
  const line = checkSafeLine(value);
  if (line !== null) return line;
  // cron turns an unescaped % into a newline and feeds the rest to stdin.
  if (value.includes('%')) return 'must not contain % (cron reads it as a line break); put the command in a script';
  if (value !== value.trim()) return 'must not start or end with whitespace';
  return null;
};
