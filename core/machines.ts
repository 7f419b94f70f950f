// Reads the bare-metal runbook's inventory: one `IP FQDN HOSTNAME [POD_SUBNET]` line per machine.
// A source only reads; validateSpec decides what is acceptable.
import { NodeInput } from "./types";
import { Problem } from "./problems";

export interface MachinesFile {
  readonly nodes: NodeInput[];
  /** Lines that do not have the inventory's shape. */
  readonly problems: Problem[];
}

export function parseMachinesTxt(text: string, fileName = "machines.txt"): MachinesFile {
  const nodes: NodeInput[] = [];
  const problems: Problem[] = [];
  text.split(/\r?\n/).forEach((rawLine, index) => {
    const where = `${fileName}:${index + 1}`;
    const line = rawLine.replace(/#.*$/, "").trim();
    if (line.length === 0) return;
    const fields = line.split(/[ \t]+/);
    if (fields.length < 3 || fields.length > 4) {
      problems.push({
        where,
        // The line itself is not echoed: a file that is not an inventory must not end up in CI logs.
        message: `expected "IP FQDN HOSTNAME [POD_SUBNET]" (3 or 4 fields), got ${fields.length} field${fields.length === 1 ? "" : "s"}`,
      });
      return;
    }
    const [ip, fqdn, name, podCidr] = fields;
    nodes.push({ ip, fqdn, name, origin: where, ...(podCidr !== undefined ? { podCidr } : {}) });
  });
  return { nodes, problems };
}
