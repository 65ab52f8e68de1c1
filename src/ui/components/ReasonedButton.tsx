import { useId, type ButtonHTMLAttributes } from 'react';

type Props = Omit<ButtonHTMLAttributes<HTMLButtonElement>, 'disabled'> & {
  /** Why the button is greyed; null when it can be pressed. */
  why: string | null;
  /** Also show the reason beside the button (otherwise it is the title and the accessible description). */
  hint?: boolean;
  hintTestId?: string;
};

/**
 * A button that says why it is greyed: the reason greys it, is its title (on hover) and its
 * accessible description (aria-describedby), and with `hint` is shown beside it as well.
 */
export function ReasonedButton({ why, hint = false, hintTestId, type = 'button', title, ...button }: Props) {
  const id = useId();
  const greyed = why !== null;
  return (
    <>
      <button
        {...button}
        type={type}
        disabled={greyed}
        title={greyed ? why : title}
        aria-describedby={greyed ? id : undefined}
      />
      {greyed && (
        <span id={id} className={hint ? 'muted' : 'visually-hidden'} data-testid={hintTestId}>
          {why}
        </span>
      )}
    </>
  );
}

/** The reason of a button greyed while the previous action on its panel finishes. */
export const WAIT = 'Wait: the previous action is still running.';
/** The reason of a button greyed while a model loads. */
export const MODEL_LOADING = 'A model is loading: wait for it or cancel it.';
