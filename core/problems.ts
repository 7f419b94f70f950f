// One result and problem type for every layer (spec, config, target plans, the CLI), so that every problem
// is reported together, each naming where the bad value is and how to fix it.

/**
 * What kind of problem it is, for code that acts on problems (the message is for people and may change).
 * Problems without a code are reported and nothing more.
 */
export type ProblemCode =
  /** A stack setting still holds the stack file's EXAMPLE value. */
  | "example-value"
  /** A stack setting no schema knows (a typo, or a literal dotted key set without --path). */
  | "unknown-setting"
  /** A stack setting of the wrong shape or value. */
  | "invalid-setting"
  /** A required stack setting that is not set. */
  | "missing-setting";

export interface Problem {
  /** Where the bad value is: a config key, a file and line, a node. */
  readonly where: string;
  /** What is wrong, naming the value, and how to fix it. */
  readonly message: string;
  readonly code?: ProblemCode;
  /** For a stack setting: its path under the namespace, e.g. ["ssh", "hostKeys", "node-0"]. */
  readonly setting?: readonly string[];
}

export type Validated<T> = { ok: true; value: T } | { ok: false; problems: Problem[] };

/** The error pod-routes throws for bad input: every problem at once, before anything is created or changed. */
export class PodRoutesError extends Error {
  override readonly name = "PodRoutesError";
  constructor(
    readonly problems: readonly Problem[],
    context = "the route spec",
  ) {
    super(formatProblems(problems, context));
  }
}

export function formatProblems(problems: readonly Problem[], context = "the route spec"): string {
  const count = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
  const lines = problems.map((p) => `  - ${p.where}: ${p.message}`);
  return [`pod-routes found ${count} in ${context}; nothing was created or changed:`, ...lines].join("\n");
}

/** Throws every problem of the results together, or returns their values. */
export function requireAll<T extends readonly Validated<unknown>[]>(
  results: T,
  context?: string,
): { [K in keyof T]: T[K] extends Validated<infer V> ? V : never } {
  const problems = results.flatMap((r) => (r.ok ? [] : r.problems));
  if (problems.length > 0) throw new PodRoutesError(problems, context);
  return results.map((r) => (r as { value: unknown }).value) as never;
}

/** The value, or throws a PodRoutesError listing every problem. */
export function valueOf<T>(result: Validated<T>, context?: string): T {
  if (!result.ok) throw new PodRoutesError(result.problems, context);
  return result.value;
}

/** Quotes a value for a message; control characters are escaped so a hostile value cannot forge lines. */
export function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (value === undefined) return "nothing";
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Like `show`, for values that must never be echoed whole (they may be secrets pasted in the wrong place). */
export function showShort(value: unknown, max = 24): string {
  const text = show(value);
  return text.length > max ? `${text.slice(0, max)}… (${text.length} characters)` : text;
}
