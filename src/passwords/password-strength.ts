/**
 * Scores a password with zxcvbn (the maintained TypeScript port), so "strong" means "hard to
 * guess" rather than "has a digit and a capital". The factory is built once: loading the
 * dictionaries is the expensive part.
 */
import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import * as common from '@zxcvbn-ts/language-common';

let factory: ZxcvbnFactory | undefined;

function scorer(): ZxcvbnFactory {
  factory ??= new ZxcvbnFactory({ dictionary: { ...common.dictionary }, graphs: common.adjacencyGraphs });
  return factory;
}

export interface PasswordScore {
  /** 0 (too guessable) to 4 (very unguessable) */
  score: number;
  /** a short hint in words, when zxcvbn has one */
  hint: string | null;
}

// zxcvbn-ts returns translation keys; these are the ones worth turning into words here.
const HINTS: Record<string, string> = {
  topTen: 'it is one of the ten most used passwords',
  topHundred: 'it is one of the hundred most used passwords',
  common: 'it is a commonly used password',
  similarToCommon: 'it is close to a commonly used password',
  wordByItself: 'a single word is easy to guess',
  namesByThemselves: 'a name by itself is easy to guess',
  commonNames: 'common names are easy to guess',
  userInputs: 'it contains the user name or domain',
  straightRow: 'a straight row of keys is easy to guess',
  keyPattern: 'a short keyboard pattern is easy to guess',
  simpleRepeat: 'repeated characters are easy to guess',
  extendedRepeat: 'repeated patterns are easy to guess',
  sequences: 'sequences like abc or 6543 are easy to guess',
  recentYears: 'recent years are easy to guess',
  dates: 'dates are easy to guess',
  pwned: 'it appeared in a data breach',
};

/** `userInputs` (user name, domain) count as known to an attacker. */
export function scorePassword(password: string, userInputs: readonly string[] = []): PasswordScore {
  const result = scorer().check(password, [...userInputs]);
  const warning = result.feedback.warning;
  return { score: result.score, hint: warning ? (HINTS[warning] ?? null) : null };
}
