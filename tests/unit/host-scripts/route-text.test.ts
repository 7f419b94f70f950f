// route-text.ts is the one encoder and decoder of a host route in each form it travels in (state, script,
// report). The state form round-trips; the script form is read by verdicts.awk as the same routes; the
// report's fields round-trip through the report parser.
import { spawnSync } from "child_process";
import fc from "fast-check";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  fromStateRoutes,
  HostRoute,
  toScriptLine,
  toStateRoutes,
} from "../../../ssh/host-program/route-text";
import {
  formatCheckReport,
  HOST_SCRIPTS_DIR,
  parseCheckReport,
  ROUTE_PROTO,
  VERDICTS_AWK,
} from "../../../ssh/host-program/render";

/** Seed-style routes: pod CIDRs 10.200.i.0/24 (or fd00:200:i::/64) via 10.240.0.2i (or fd00:240::2i). */
const routes = fc
  .uniqueArray(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 40 })
  .chain((ids) =>
    fc.tuple(fc.constant(ids), fc.array(fc.boolean(), { minLength: ids.length, maxLength: ids.length })),
  )
  .map(([ids, v6]): HostRoute[] =>
    ids.map((i, k) =>
      v6[k]
        ? {
            destination: `fd00:200:${i.toString(16)}::/64`,
            nextHop: `fd00:240::${i.toString(16)}`,
            node: `worker-${i}`,
          }
        : { destination: `10.200.${i}.0/24`, nextHop: `10.240.${i}.20`, node: `worker-${i}` },
    ),
  );

let tmp = "";
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pod-routes-route-text-"));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("route-text: one form per place a route travels", () => {
  it("the state form round-trips", () => {
    fc.assert(fc.property(routes, (rs) => expect(fromStateRoutes(toStateRoutes(rs))).toEqual(rs)));
  });

  it("the script form is read by verdicts.awk as the same routes", () => {
    fc.assert(
      fc.property(routes, (rs) => {
        const desired = path.join(tmp, "desired");
        fs.writeFileSync(desired, rs.map((r) => `${toScriptLine(r)}\n`).join(""));
        const run = spawnSync(
          "mawk",
          [
            "-v",
            `proto=${ROUTE_PROTO}`,
            "-v",
            "adopt=0",
            "-f",
            path.join(HOST_SCRIPTS_DIR, VERDICTS_AWK),
          ].concat([desired, "/dev/null", "/dev/null"]),
          { encoding: "utf8" },
        );
        expect(run.stderr).toBe("");
        expect(run.status).toBe(0);
        // Nothing on the host yet: the awk adds every desired route, destination and next hop as written.
        expect(run.stdout).toBe(rs.map((r) => `add\t${r.destination}\t${r.nextHop}\n`).join(""));
      }),
      { numRuns: 30 },
    );
  });

  it("the report's route fields round-trip, '-' for none", () => {
    fc.assert(
      fc.property(routes, fc.boolean(), (rs, gone) => {
        const report = {
          owner: "pulumi:acme/pod-routes/prod@1a2b:pod-routes-worker-0",
          state: "present" as const,
          verdicts: rs.map((r) => ({
            verdict: gone ? ("remove" as const) : ("add" as const),
            destination: r.destination,
            desiredVia: gone ? null : r.nextHop,
            liveVia: gone ? r.nextHop : null,
            detail: null,
          })),
          hostsBlock: "missing" as const,
          hosts: [],
          unit: "present" as const,
        };
        expect(parseCheckReport(formatCheckReport(report))).toEqual(report);
      }),
    );
  });
});
