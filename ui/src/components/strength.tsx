/**
 * A password field with a strength meter. The score comes from the API's own check
 * (POST /api/password-strength), so the meter accepts exactly what the API will accept.
 */
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, call } from '../api/client.ts';
import type { Strength } from '../api/types.ts';
import { Field } from './form.tsx';

const WORDS = ['too guessable', 'very weak', 'weak', 'strong', 'very strong'];

interface PasswordFieldProps {
  name: string;
  label: string;
  value: string;
  onValue: (value: string) => void;
  kind: 'account' | 'mail';
  account?: string;
  address?: string;
}

export function PasswordField({ name, label, value, onValue, kind, account, address }: PasswordFieldProps): JSX.Element {
  const [strength, setStrength] = useState<Strength | null>(null);
  useEffect(() => {
    if (value === '') return setStrength(null);
    let live = true;
    // A short pause: the meter follows the typing without a call per keystroke.
    const timer = setTimeout(() => {
      call(api.POST('/api/password-strength', { body: { kind, password: value, ...(account ? { account } : {}), ...(address ? { address } : {}) } })).then(
        (answer) => live && setStrength(answer),
        () => live && setStrength(null),
      );
    }, 150);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [value, kind, account, address]);
  return (
    <Field name={name} label={label}>
      {(attributes) => (
        <>
          <input name={name} type="password" autoComplete="new-password" value={value} onInput={(event) => onValue(event.currentTarget.value)} {...attributes} />
          <div class="meter" aria-hidden="true">
            <div class={`meter-fill score-${strength?.score ?? 0} ${strength?.acceptable ? 'ok' : ''}`} style={{ width: `${strength ? ((strength.score + 1) / 5) * 100 : 0}%` }} />
          </div>
          <p class="meter-text" aria-live="polite" data-acceptable={strength ? String(strength.acceptable) : undefined}>
            {strength
              ? `${WORDS[strength.score] ?? ''} (${strength.score} of 4; this policy needs ${strength.minScore})${strength.hint ? ` — ${strength.hint}` : ''}`
              : 'Type a password to see how strong it is.'}
          </p>
        </>
      )}
    </Field>
  );
}
