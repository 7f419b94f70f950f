// lab/machines.ts: the lab reads a machines.txt with pod-routes' own parser and validation, then holds it to
// what one lab /24 can hold; lab.sh takes the result as JSON and parses nothing itself.
import * as fs from "fs";
import * as path from "path";
import { labMachines } from "../../lab/machines";

const EXAMPLE = path.resolve(__dirname, "..", "..", "examples", "machines.txt");

describe("the lab's machines", () => {
  it("examples/machines.txt: each machine with its pod subnet's gateway and pod address", () => {
    expect(labMachines(fs.readFileSync(EXAMPLE, "utf8"), "machines.txt")).toEqual({
      ok: true,
      value: {
        net: "198.19.249",
        workstationIp: "198.19.249.1",
        machines: [
          { ip: "198.19.249.10", fqdn: "server.kubernetes.local", name: "server" },
          ...[
            ["198.19.249.34", "node-0", 0],
            ["198.19.249.136", "node-1", 1],
          ].map(([ip, name, i]) => ({
            ip,
            fqdn: `${name}.kubernetes.local`,
            name,
            podCidr: `10.200.${i}.0/24`,
            podGateway: `10.200.${i}.1`,
            podIp: `10.200.${i}.2`,
            podPrefix: 24,
          })),
        ],
      },
    });
  });

  it("takes a lab of machines only, without a worker (pod-routes itself needs one)", () => {
    const result = labMachines("198.19.249.10 gw.kubernetes.local gw\n", "m.txt");
    expect(result.ok && result.value.machines).toEqual([
      { ip: "198.19.249.10", fqdn: "gw.kubernetes.local", name: "gw" },
    ]);
  });

  it("takes .254 for the workstation when .1 is a host", () => {
    const text = "198.19.249.1 a.k a 10.200.0.0/24\n198.19.249.2 b.k b 10.200.1.0/24\n";
    const result = labMachines(text, "m.txt");
    expect(result.ok && result.value.workstationIp).toBe("198.19.249.254");
  });

  it.each<[string, string, string[]]>([
    [
      "pod-routes' own problems, with its own messages, and the lab's together",
      "198.19.249.10 a.k a 10.200.0.1/24\n198.19.249.10 b.k B 10.200.1.0/24\n198.19.248.12 c.k c 10.200.2.0/31\n",
      [
        'm.txt:1: node "a": podCidr "10.200.0.1/24" has host bits set (it is not the network address); use "10.200.0.0/24"',
        'm.txt:2: name "B" is not an RFC 1123 name',
        'm.txt:2: duplicate IP "198.19.249.10"',
        "m.txt: c: 198.19.248.12 is not in 198.19.249.0/24 like the first machine",
        "m.txt: c: the lab's pod subnets are IPv4 with a prefix of /8 to /30, not 10.200.2.0/31",
      ],
    ],
    [
      "hosts on two /24s, the network address, a dotted name and a /31 pod subnet",
      "198.19.249.10 a.k a 10.200.0.0/24\n198.19.248.11 b.k b 10.200.1.0/24\n198.19.249.0 c.k c\n198.19.249.12 d.k d.x 10.200.2.0/31\n",
      [
        "m.txt: b: 198.19.248.11 is not in 198.19.249.0/24 like the first machine",
        "m.txt: c: 198.19.249.0 is the network or broadcast address of 198.19.249.0/24",
        "m.txt: d.x: a lab host name is one label of at most 42 characters",
        "m.txt: d.x: the lab's pod subnets are IPv4 with a prefix of /8 to /30, not 10.200.2.0/31",
      ],
    ],
    [
      "IPv6 hosts",
      "198.19.249.11 b.k b 10.200.0.0/24\nfd00::10 a.k a\n",
      ["m.txt: a: fd00::10 is not an IPv4 address; the lab's hosts are IPv4"],
    ],
    [
      "no address left for the workstation",
      "198.19.249.1 a.k a 10.200.0.0/24\n198.19.249.254 b.k b 10.200.1.0/24\n",
      ["m.txt: both 198.19.249.1 and 198.19.249.254 are hosts; the workstation needs one of them"],
    ],
  ])("refuses %s, every problem at once", (_, text, expected) => {
    const result = labMachines(text, "m.txt");
    expect(result.ok).toBe(false);
    const shown = result.ok ? [] : result.problems.map((p) => `${p.where}: ${p.message}`);
    for (const line of expected) expect(shown.some((s) => s.startsWith(line))).toBe(true);
    expect(shown).toHaveLength(expected.length);
  });
});
