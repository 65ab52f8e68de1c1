/**
 * A problem the user can act on: which file, what is wrong, what to do.
 * Every layer throws these for bad input so that the UI can show them as they are.
 */
export class DearliError extends Error {
  readonly code: string;
  readonly file?: string;
  readonly problem: string;
  readonly fix: string;

  constructor(code: string, problem: string, fix: string, file?: string) {
    super(`${file ? `${file}: ` : ''}${problem}${fix ? ` — ${fix}` : ''}`);
    this.name = 'DearliError';
    this.code = code;
    this.problem = problem;
    this.fix = fix;
    this.file = file;
  }

  toJSON(): UserMessage {
    return { code: this.code, file: this.file, problem: this.problem, fix: this.fix };
  }
}

/** The plain-object form of a DearliError, safe to post across a worker boundary or store. */
export interface UserMessage {
  code: string;
  file?: string;
  problem: string;
  fix: string;
}

export function toUserMessage(err: unknown): UserMessage {
  if (err instanceof DearliError) return err.toJSON();
  const e = err as { code?: unknown; problem?: unknown; fix?: unknown; file?: unknown; message?: unknown };
  if (typeof e?.problem === 'string') {
    return {
      code: String(e.code ?? 'error'),
      file: e.file as string | undefined,
      problem: e.problem,
      fix: String(e.fix ?? ''),
    };
  }
  return {
    code: 'internal',
    problem: String(e?.message ?? err),
    fix: 'This is a bug in DEARLi Lab; please report it with the steps that led here.',
  };
}

/** A count with its noun in the right number: countOf(1, 'file') is '1 file', countOf(2, 'file') '2 files'. */
export function countOf(count: number, singular: string, plural = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : plural}`;
}
