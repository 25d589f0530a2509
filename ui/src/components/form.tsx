/**
 * Forms that show the API's refusal where it belongs: under the field it names (aria-invalid and
 * aria-describedby point a screen reader at it), or above the buttons when it names none. Nothing
 * is sent twice while a call is under way.
 */
import type { ComponentChildren, JSX } from 'preact';
import { createContext } from 'preact';
import { useContext, useId, useState } from 'preact/hooks';
import { asRefusal, type ApiRefusal } from '../api/client.ts';

interface FormState {
  busy: boolean;
  refusal: ApiRefusal | null;
}

const FormContext = createContext<FormState>({ busy: false, refusal: null });

/** The refusal for `name`: one naming the field itself or a part of it (ssh.host under ssh). */
function refusalFor(refusal: ApiRefusal | null, names: string[]): string | null {
  if (!refusal?.field) return null;
  const field = refusal.field;
  return names.some((name) => field === name || field.startsWith(`${name}.`) || field.startsWith(`${name}[`)) ? refusal.message : null;
}

export function useAction(): FormState & { run: (work: () => Promise<void>) => Promise<boolean>; clear: () => void } {
  const [state, setState] = useState<FormState>({ busy: false, refusal: null });
  return {
    ...state,
    clear: () => setState({ busy: false, refusal: null }),
    async run(work) {
      setState({ busy: true, refusal: null });
      try {
        await work();
        setState({ busy: false, refusal: null });
        return true;
      } catch (error) {
        setState({ busy: false, refusal: asRefusal(error) });
        return false;
      }
    },
  };
}

interface FormProps {
  action: FormState;
  onSubmit: () => void;
  label: string;
  /** the fields this form shows; a refusal naming another one is shown above the buttons */
  fields: string[];
  children: ComponentChildren;
  submit: string;
  class?: string;
}

export function Form({ action, onSubmit, label, fields, children, submit, class: className }: FormProps): JSX.Element {
  const general = action.refusal && !refusalFor(action.refusal, fields) ? action.refusal.message : null;
  return (
    <FormContext.Provider value={action}>
      <form
        class={`form ${className ?? ''}`}
        aria-label={label}
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          if (!action.busy) onSubmit();
        }}
      >
        {children}
        {general && (
          <p class="refusal" role="alert">
            {general}
          </p>
        )}
        <div class="form-actions">
          <button type="submit" class="primary" disabled={action.busy} aria-busy={action.busy}>
            {action.busy ? 'Working…' : submit}
          </button>
        </div>
      </form>
    </FormContext.Provider>
  );
}

interface FieldProps {
  name: string;
  /** other field names whose refusals show here (a nested object's parts) */
  also?: string[];
  label: string;
  hint?: string;
  children: (attributes: { id: string; 'aria-invalid': boolean; 'aria-describedby': string | undefined }) => ComponentChildren;
}

export function Field({ name, also = [], label, hint, children }: FieldProps): JSX.Element {
  const { refusal } = useContext(FormContext);
  const id = useId();
  const message = refusalFor(refusal, [name, ...also]);
  const described = [hint ? `${id}-hint` : '', message ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;
  return (
    <div class={`field ${message ? 'invalid' : ''}`}>
      <label for={id}>{label}</label>
      {children({ id, 'aria-invalid': message !== null, 'aria-describedby': described })}
      {hint && (
        <small id={`${id}-hint`} class="hint">
          {hint}
        </small>
      )}
      {message && (
        <p id={`${id}-error`} class="field-error" role="alert" data-field={name}>
          {message}
        </p>
      )}
    </div>
  );
}

interface InputProps {
  name: string;
  label: string;
  hint?: string;
  value: string;
  onValue: (value: string) => void;
  type?: 'text' | 'password' | 'number' | 'email';
  autoComplete?: string;
  placeholder?: string;
  required?: boolean;
  inputMode?: 'numeric' | 'email' | 'text';
  also?: string[];
}

export function TextField({ name, label, hint, value, onValue, also, type = 'text', autoComplete, placeholder, required, inputMode }: InputProps): JSX.Element {
  return (
    <Field name={name} label={label} hint={hint} also={also}>
      {(attributes) => (
        <input
          name={name}
          // Preact types each input type separately; the union of ours is valid for all of them.
          type={type as 'text'}
          value={value}
          autoComplete={autoComplete}
          placeholder={placeholder}
          required={required}
          inputMode={inputMode}
          onInput={(event) => onValue(event.currentTarget.value)}
          {...attributes}
        />
      )}
    </Field>
  );
}

export function SelectField({ name, label, hint, value, onValue, options }: { name: string; label: string; hint?: string; value: string; onValue: (value: string) => void; options: { value: string; label: string }[] }): JSX.Element {
  return (
    <Field name={name} label={label} hint={hint}>
      {(attributes) => (
        <select name={name} value={value} onChange={(event) => onValue(event.currentTarget.value)} {...attributes}>
          {options.map((option) => (
            <option key={option.value} value={option.value}>
              {option.label}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}
