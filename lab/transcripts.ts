// The README's `pulumi preview --diff` and `pulumi refresh --diff` transcripts, cut from what the CLI really
// printed: one host's HostRoutes, its header and URN (or id), and the one property that changed. Pure; the
// engine tests cut them from their own runs and compare them with the README, and
// `npm run readme-transcripts` writes them into the README from a run of its own.

/** A README block between `<!-- transcript:NAME -->` and `<!-- /transcript -->`. */
export const TRANSCRIPTS = {
  /** `pulumi preview --diff` after a node (node-2 on the spare machine) is added: node-0's routes. */
  previewNodeAdded: "preview-node-added",
  /** `pulumi refresh --diff` after `ip route del 10.200.1.0/24` on node-0: node-0's drift. */
  refreshDrift: "refresh-drift",
} as const;
export type TranscriptName = (typeof TRANSCRIPTS)[keyof typeof TRANSCRIPTS];

const stripAnsi = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, ""); // eslint-disable-line no-control-regex

/**
 * The lines of `output` that show `resource`'s change of `property`: the resource's header line, its
 * `[urn=…::name]` or `[id=…]` line, an elision, and the property's whole block (up to its closing bracket).
 */
export function cutTranscript(output: string, resource: string, property: string, command?: string): string {
  const lines = stripAnsi(output).split("\n");
  const at = lines.findIndex((l) => l.trimEnd().endsWith(`::${resource}]`) || l.includes(`[id=${resource}@`));
  if (at < 1) throw new Error(`no ${resource} in the output:\n${output}`);
  // The resource's header (`~ …HostRoutes: (update)`), then its [id=…] and [urn=…] lines.
  let head = at - 1;
  while (head > 0 && /^\s*\[(id|urn)=/.test(lines[head]!)) head--;
  const start = lines.findIndex((l, i) => i > at && new RegExp(`^\\s*[~+-]? ${property}\\s+:`).test(l));
  if (start < 0) throw new Error(`no ${property} of ${resource} in the output:\n${output}`);
  const indent = /^\s*/.exec(lines[start]!)![0].length;
  let end = start;
  if (/[[{]\s*$/.test(lines[start]!)) {
    end = lines.findIndex(
      (l, i) => i > start && /^\s*[\]}]\s*$/.test(l) && /^\s*/.exec(l)![0].length <= indent + 2,
    );
    if (end < 0) throw new Error(`${property} of ${resource} does not close in the output:\n${output}`);
  }
  const idents = lines.slice(head + 1, at + 1).map((l) => l.replace(/\[urn=.*::/, "[urn=…::"));
  const pad = /^\s*/.exec(lines[at]!)![0];
  return [
    ...(command !== undefined ? [`$ ${command}`] : []),
    lines[head]!,
    ...idents,
    `${pad}…`,
    ...lines.slice(start, end + 1),
  ]
    .map((l) => l.trimEnd())
    .join("\n");
}

/** The README's block `name` (between its markers, without the code fence). */
export function readmeTranscript(readme: string, name: TranscriptName): string {
  const m = new RegExp(
    `<!-- transcript:${name} -->\\n+\`\`\`\\n([^]*?)\\n\`\`\`\\n+<!-- /transcript -->`,
  ).exec(readme);
  if (!m) throw new Error(`README.md has no transcript block "${name}"`);
  return m[1]!;
}

/** The README with block `name` replaced by `text`. */
export function withTranscript(readme: string, name: TranscriptName, text: string): string {
  readmeTranscript(readme, name);
  return readme.replace(
    new RegExp(`(<!-- transcript:${name} -->\\n+\`\`\`\\n)[^]*?(\\n\`\`\`\\n+<!-- /transcript -->)`),
    (_all, open: string, close: string) => `${open}${text}${close}`,
  );
}
