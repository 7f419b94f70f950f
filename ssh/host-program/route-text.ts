// A host route in each form it travels in, each with its one encoder and decoder:
//   state   the HostRoutes resource's `routes` input (what the engine stores): destination → `<next hop> <node>`;
//   script  the `pr_desired` here-document that verdicts.awk reads: `<destination> <next hop> <node>` a line;
//   report  a check report's verdict line: `<destination>\t<desired via>\t<live via>`, `-` for none.
// The host program parses only the script form (which this wrote) and what the kernel prints.

/** One route of one host: traffic for `destination` goes to `nextHop`, the node `node` that owns those pods. */
export interface HostRoute {
  /** Canonical CIDR text (IPv4 dotted quad, IPv6 RFC 5952 lowercase). */
  readonly destination: string;
  readonly nextHop: string;
  /** The node whose pod subnet this is. */
  readonly node: string;
}

/**
 * The state form. Filled as a prototype-less object: with a thousand distinct keys per host and a thousand
 * hosts, an ordinary object literal (or Object.fromEntries) spends seconds on V8's hidden-class transitions
 * (10× the time, measured). Returned as an ordinary object again (the SDK prints its inputs), still in V8's
 * dictionary mode.
 */
export function toStateRoutes(routes: readonly HostRoute[]): Record<string, string> {
  const state = Object.create(null) as Record<string, string>;
  for (const r of routes) state[r.destination] = `${r.nextHop} ${r.node}`;
  return Object.setPrototypeOf(state, Object.prototype) as Record<string, string>;
}

export function fromStateRoutes(state: Readonly<Record<string, string>>): HostRoute[] {
  return Object.entries(state).map(([destination, value]) => {
    const [nextHop = "", node = ""] = value.split(" ");
    return { destination, nextHop, node };
  });
}

/** The script form of one route (its values checked by the renderer first). */
export const toScriptLine = (r: HostRoute): string => `${r.destination} ${r.nextHop} ${r.node}`;

/** The report's word for "no next hop". */
const NONE = "-";

/** A verdict's route fields as the report prints them. */
export const toReportFields = (destination: string, desiredVia: string | null, liveVia: string | null) => [
  destination,
  desiredVia ?? NONE,
  liveVia ?? NONE,
];

/** A report field that may be `-`. */
export const fromReportField = (field: string): string | null => (field === NONE ? null : field);
export const toReportField = (value: string | null): string => value ?? NONE;
