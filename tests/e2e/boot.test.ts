// Issue 18, item 11: what the lab without an init (lab/lab.sh) can only simulate, on a host that runs
// systemd as PID 1 (lab/lab-boot.sh: a systemd-nspawn container on a cached Debian root, in its own
// network namespace). The host program goes over real SSH (ssh/transport/session.ts's runScript with the scripts of
// ssh/host-program/render.ts); then the host is really powered off and booted, with its routes gone in between, as a
// power cut loses them. Runs as root; without root or the tools it fails naming the fix (never skips).
import * as path from "path";
import {
  BootLab,
  bootExec,
  bootLabDown,
  bootLabUp,
  bootNamespaces,
  bootNet,
  bootReboot,
  bootRun,
  bootSsh,
  bootStart,
  bootStop,
  bootTarget,
  bootWorkstationLinkExists,
  requireBootLab,
} from "../../lab/boot";
import type { RunResult as LabRunResult } from "../../lab/lab";
import { renderApply, renderDelete, ROUTE_PROTO } from "../../ssh/host-program/render";
import { runScript, RunResult } from "../../ssh/transport/session";
import { buildOnce } from "../helpers/lab";

// The cold cache builds the Debian root first (about half a minute); the resync test waits up to
// the timer's interval plus systemd's accuracy (a minute by default).
jest.setTimeout(150_000);

const HOST = "node-0";
const OWNER = "pulumi:organization/pod-routes/boot-lab:pod-routes-node-0";
const RESYNC = "5s";
// The other nodes are not booted: a next hop only has to be on a directly connected network.
const ROUTES = [
  { destination: "10.200.1.0/24", nextHop: "198.19.250.11", node: "node-1" },
  { destination: "10.200.2.0/24", nextHop: "198.19.250.12", node: "node-2" },
];
const ROUTE_LINES = ROUTES.map((r) => `${r.destination} via ${r.nextHop}`).sort();
/** A site's own router on the hosts' network, for a route of its own to a pod CIDR. */
const SITE_ROUTER = "198.19.250.13";
const UNITS = ["pod-routes.service", "pod-routes-resync.timer", "pod-routes-resync.service"];
const FILES = [
  "/etc/systemd/system/pod-routes.service",
  "/etc/systemd/system/multi-user.target.wants/pod-routes.service",
  "/etc/systemd/system/pod-routes-resync.service",
  "/etc/systemd/system/pod-routes-resync.timer",
  "/etc/systemd/system/timers.target.wants/pod-routes-resync.timer",
  "/etc/pod-routes",
];

const theLab = buildOnce<BootLab>({
  name: "boot",
  what: "the booting lab",
  build: (tmp) => {
    requireBootLab();
    return bootLabUp(path.join(tmp, "lab"), [HOST]);
  },
  teardown: (_tmp, lab) => {
    if (lab) {
      bootLabDown(lab);
      expect(bootNamespaces()).toEqual([]);
      expect(bootWorkstationLinkExists()).toBe(false);
    }
  },
  timeout: 600_000,
}).get;

/** Runs a command in the host; its stdout, trimmed. */
function on(cmd: string): string {
  return bootExec(theLab(), HOST, ["sh", "-c", cmd]).trim();
}
function status(cmd: string): LabRunResult {
  return bootRun(theLab(), HOST, ["sh", "-c", cmd]);
}

/** `<dst> via <hop>` of every protocol-156 route on the host, as its kernel has them (from outside). */
function podRoutes(): string[] {
  return ["-4", "-6"]
    .flatMap((family) =>
      bootNet(theLab(), HOST, [family, "route", "show", "table", "all", "proto", String(ROUTE_PROTO)]).split(
        "\n",
      ),
    )
    .map((l) => l.trim())
    .filter((l) => l !== "")
    .map((l) => l.split(" ").slice(0, 3).join(" "))
    .sort();
}

function systemdProperty(unit: string, property: string): string {
  return on(`systemctl show -p ${property} --value ${unit}`);
}

async function apply(): Promise<RunResult> {
  const r = await runScript(
    bootTarget(theLab(), HOST),
    "sh -s",
    renderApply({ host: HOST, owner: OWNER, routes: ROUTES, resyncInterval: RESYNC }),
  );
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
  return r;
}

async function remove(): Promise<RunResult> {
  const r = await runScript(bootTarget(theLab(), HOST), "sh -s", renderDelete({ host: HOST, owner: OWNER }));
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
  return r;
}

/** How often PID 1 has logged a daemon-reload in this boot. */
function reloads(): number {
  return on("journalctl -b _PID=1 MESSAGE=Reloading. -o cat --no-pager")
    .split("\n")
    .filter((l) => l !== "").length;
}

/** Journal lines of a unit in this boot. */
function journal(unit: string): string[] {
  return on(`journalctl -b -u ${unit} -o cat --no-pager`).split("\n");
}

/** A systemd time span (`5s`, `1min`, `1min 30s`, `250ms`) in ms. */
function timespanMs(span: string): number {
  const units: Record<string, number> = { us: 0.001, ms: 1, s: 1000, min: 60_000, h: 3_600_000 };
  let total = 0;
  for (const part of span.trim().split(/\s+/)) {
    const m = /^(\d+)(us|ms|s|min|h)$/.exec(part);
    if (!m) throw new Error(`not a systemd time span: ${JSON.stringify(span)}`);
    total += Number(m[1]) * units[m[2]!]!;
  }
  return total;
}

async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

describe("issue 18 item 11: hosts that really boot (systemd)", () => {
  test("the apply over SSH installs pod-routes.service and enables it, with systemd's daemon-reload really run", async () => {
    // A host pod-routes never applied (the delete of an earlier run changes nothing on a clean one).
    await remove();
    expect(status("test -e /etc/systemd/system/pod-routes.service").code).not.toBe(0);
    const before = reloads();

    const r = await apply();
    expect(r.stdout).toContain(`${HOST}: added 2`);
    expect(podRoutes()).toEqual(ROUTE_LINES);

    // Enabled as systemd sees it, through the host's own systemctl, and over real ssh as an operator would.
    expect(on("systemctl is-enabled pod-routes.service")).toBe("enabled");
    expect(on("systemctl is-enabled pod-routes-resync.timer")).toBe("enabled");
    expect(bootSsh(theLab(), HOST, ["systemctl", "is-enabled", "pod-routes.service"]).stdout.trim()).toBe(
      "enabled",
    );
    expect(systemdProperty("pod-routes.service", "LoadState")).toBe("loaded");
    expect(systemdProperty("pod-routes.service", "FragmentPath")).toBe(
      "/etc/systemd/system/pod-routes.service",
    );
    expect(systemdProperty("pod-routes.service", "NeedDaemonReload")).toBe("no");
    // daemon-reload really ran: PID 1 logged it, and its dependency graph, read from the .wants links only
    // when a unit is (re)loaded, now has the targets of this boot pull the units in.
    expect(reloads()).toBeGreaterThan(before);
    expect(systemdProperty("multi-user.target", "Wants").split(" ")).toContain("pod-routes.service");
    expect(systemdProperty("timers.target", "Wants").split(" ")).toContain("pod-routes-resync.timer");
    expect(on("systemctl is-active pod-routes-resync.timer")).toBe("active");

    // Applied again, nothing changes.
    expect((await apply()).stdout).toContain("unchanged 2; files changed: none");
  });

  test("a real reboot (power off, routes lost, boot) brings the routes back through pod-routes.service", async () => {
    await apply();
    const bootId = on("cat /proc/sys/kernel/random/boot_id");

    bootStop(theLab(), HOST);
    // Off, and its routes gone as a power cut loses them.
    expect(bootRun(theLab(), HOST, ["true"]).stderr).toMatch(/not running/);
    expect(podRoutes()).toEqual([]);

    expect(bootStart(theLab(), HOST)).toBe("running");
    expect(on("cat /proc/sys/kernel/random/boot_id")).not.toBe(bootId);
    expect(podRoutes()).toEqual(ROUTE_LINES);
    // Put back by the boot unit itself, in this boot.
    expect(on("systemctl is-active pod-routes.service")).toBe("active");
    expect(systemdProperty("pod-routes.service", "Result")).toBe("success");
    expect(systemdProperty("pod-routes.service", "ExecMainStatus")).toBe("0");
    expect(journal("pod-routes.service").join("\n")).toContain(`${HOST}: added 2, changed 0`);
  });

  test("a site's own static route to a pod CIDR survives the boot untouched, and pod-routes.service fails naming it", async () => {
    await apply();
    const site = `10.200.1.0/24 via ${SITE_ROUTER} dev eth0 proto static`;
    bootStop(theLab(), HOST);
    // The site's network puts its own route there before the host's init starts.
    bootNet(theLab(), HOST, ["route", "add", "10.200.1.0/24", "via", SITE_ROUTER, "proto", "static"]);
    try {
      expect(bootStart(theLab(), HOST)).toBe("degraded");
      expect(bootNet(theLab(), HOST, ["route", "show", "10.200.1.0/24"]).trim()).toBe(site);
      // On any problem nothing changes: not even the other route goes in.
      expect(podRoutes()).toEqual([]);
      expect(on("systemctl is-failed pod-routes.service")).toBe("failed");
      expect(systemdProperty("pod-routes.service", "Result")).toBe("exit-code");
      const text = journal("pod-routes.service").join("\n");
      expect(text).toContain(`already has a route ${site} that pod-routes did not create`);
      expect(text).toContain("nothing was changed on this host");
    } finally {
      // The site's route goes again, whatever happened to it (never hiding the failure above).
      try {
        bootNet(theLab(), HOST, ["route", "del", "10.200.1.0/24", "via", SITE_ROUTER]);
      } catch {
        // gone already: what the failure above reports
      }
    }
    // Once the site's route is gone, the unit succeeds.
    expect(status("systemctl restart pod-routes.service").code).toBe(0);
    expect(podRoutes()).toEqual(ROUTE_LINES);
  });

  test(`the resync timer (resyncInterval ${RESYNC}) really fires and puts back a route deleted by hand`, async () => {
    await apply();
    expect(on("systemctl is-active pod-routes-resync.timer")).toBe("active");
    const resyncsBefore = journal("pod-routes-resync.service").filter((l) => l.includes(": added 1,")).length;

    on("ip route del 10.200.1.0/24");
    expect(podRoutes()).toEqual(ROUTE_LINES.filter((l) => !l.startsWith("10.200.1.0/24")));

    // Bounded: the interval plus the accuracy systemd allows itself for the timer (AccuracySec), and a
    // margin for the run itself.
    const accuracy = systemdProperty("pod-routes-resync.timer", "AccuracyUSec");
    const deadline = Date.now() + timespanMs(RESYNC) + timespanMs(accuracy) + 15_000;
    while (Date.now() < deadline && podRoutes().length < ROUTE_LINES.length) await sleep(500);
    expect(podRoutes()).toEqual(ROUTE_LINES);
    // The timer's service put it back.
    const resyncsAfter = journal("pod-routes-resync.service").filter((l) => l.includes(": added 1,")).length;
    expect(resyncsAfter).toBeGreaterThan(resyncsBefore);
  });

  test("the delete script removes the unit, the timer and the routes, and systemd no longer knows them", async () => {
    await apply();
    const r = await remove();
    expect(r.stdout).toContain(`${HOST}: removed 2 routes`);
    expect(podRoutes()).toEqual([]);
    for (const file of FILES)
      expect({ file, exists: status(`test -e ${file}`).code === 0 }).toEqual({ file, exists: false });
    expect(status("systemctl is-enabled pod-routes.service").code).not.toBe(0);
    // (list-unit-files exits 1 when nothing matches.)
    expect(status("systemctl list-unit-files --no-legend 'pod-routes*'").stdout.trim()).toBe("");
    expect(systemdProperty("multi-user.target", "Wants").split(" ")).not.toContain("pod-routes.service");
    expect(systemdProperty("timers.target", "Wants").split(" ")).not.toContain("pod-routes-resync.timer");
    // Nothing of them left in systemd's memory either: no unit loaded, active or failed, no timer listed.
    expect(on(`systemctl list-units --all --no-legend --plain ${UNITS.join(" ")}`)).toBe("");
    expect(on("systemctl list-timers --all --no-legend")).not.toContain("pod-routes");
    // And the next boot brings nothing back.
    expect(bootReboot(theLab(), HOST)).toBe("running");
    expect(podRoutes()).toEqual([]);
    expect(on("systemctl list-units --all --no-legend --plain 'pod-routes*'")).toBe("");
  });
});
