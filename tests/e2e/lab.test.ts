// The lab itself, for real: before any pod-routes test trusts it, prove that its sshd are reachable with
// pinned keys only, that each host sees its own /etc, and that pods need routes to reach each other.
// Runs as root; without root, or when the lab cannot be built, it fails with the reason (never skips).
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import {
  hostExec,
  hostRun,
  labDown,
  labHost,
  labNamespaces,
  podPing,
  readLab,
  sshdStart,
  sshdStop,
  sshRun,
} from "../../lab/lab";
import { useLab } from "../helpers/lab";

jest.setTimeout(120_000);

const HOSTS = ["server", "node-0", "node-1"];
/** The lab, or the reason it could not be built, as this test's failure (torn down even when a test failed). */
const theLab = useLab("labtest").get;

describe("the network lab", () => {
  it("describes every machine of machines.txt in lab.json", () => {
    const l = theLab();
    expect(l.workstationIp).toBe("198.19.249.1");
    expect(l.hosts.map((h) => [h.name, h.ip, h.netns])).toEqual([
      ["server", "198.19.249.10", "prl-server"],
      ["node-0", "198.19.249.34", "prl-node-0"],
      ["node-1", "198.19.249.136", "prl-node-1"],
    ]);
    expect(labHost(l, "server").podNetns).toBeUndefined();
    expect(labHost(l, "node-0")).toMatchObject({
      podCidr: "10.200.0.0/24",
      podIp: "10.200.0.2",
      podNetns: "prl-node-0-pod",
    });
    expect(labHost(l, "node-1")).toMatchObject({ podCidr: "10.200.1.0/24", podIp: "10.200.1.2" });
    for (const h of l.hosts) {
      expect(h.hostKey).toMatch(/^ssh-ed25519 AAAA[A-Za-z0-9+/=]+$/);
      expect(h.sshdPid).toEqual(expect.any(Number));
      expect(fs.readFileSync(path.join(l.dir, "hosts", h.name, "host_key.pub"), "utf8")).toContain(h.hostKey);
    }
    const pinned = fs.readFileSync(l.knownHosts, "utf8").trim().split("\n");
    expect(pinned).toEqual(l.hosts.map((h) => `${h.ip} ${h.hostKey}`));
    expect(fs.existsSync(l.clientKey)).toBe(true);
  });

  it("gives each host its address, lo up, forwarding on, and its pod a route via the node", () => {
    const l = theLab();
    for (const name of HOSTS) {
      expect(hostExec(l, name, ["ip", "-4", "-o", "addr", "show", "dev", "eth0"])).toContain(
        `${labHost(l, name).ip}/24`,
      );
      expect(hostExec(l, name, ["ip", "-o", "link", "show", "dev", "lo"])).toMatch(/[<,]UP[,>]/);
      expect(hostExec(l, name, ["cat", "/proc/sys/net/ipv4/ip_forward"]).trim()).toBe("1");
    }
    expect(hostExec(l, "node-0", ["ip", "-4", "-o", "addr", "show", "dev", "pod0"])).toContain(
      "10.200.0.1/24",
    );
    expect(podPing(l, "node-0", "10.200.0.1")).toBe(true);
    expect(podPing(l, "node-1", "10.200.1.1")).toBe(true);
  });

  it("reaches a real sshd on every host with the pinned host key", () => {
    const l = theLab();
    for (const name of HOSTS) {
      const r = sshRun(l, name, 'hostname; ip -4 -o addr show dev eth0; echo "user=$(id -un)"');
      expect(r).toMatchObject({ code: 0 });
      expect(r.stdout).toContain(`${name}\n`);
      expect(r.stdout).toContain(`${labHost(l, name).ip}/24`);
      expect(r.stdout).toContain("user=root");
    }
    const viaBash = sshRun(l, "node-1", 'echo "${BASH_VERSION:+bash}"', { shell: "bash" });
    expect(viaBash.stdout.trim()).toBe("bash");
  });

  it("refuses a host whose key is not the pinned one, and a host with no pinned key", () => {
    const l = theLab();
    const wrong = path.join(l.dir, "wrong_known_hosts");
    // node-0's address with node-1's key: what a man in the middle would look like.
    fs.writeFileSync(wrong, `${labHost(l, "node-0").ip} ${labHost(l, "node-1").hostKey}\n`);
    const r = sshRun(l, "node-0", "echo reached", { knownHosts: wrong });
    expect(r.code).not.toBe(0);
    expect(r.stdout).not.toContain("reached");
    expect(r.stderr).toMatch(/Host key verification failed/);

    const empty = path.join(l.dir, "empty_known_hosts");
    fs.writeFileSync(empty, "");
    const unknown = sshRun(l, "node-0", "echo reached", { knownHosts: empty });
    expect(unknown.code).not.toBe(0);
    expect(unknown.stdout).not.toContain("reached");
    expect(unknown.stderr).toMatch(/Host key verification failed/);
  });

  it("gives each host its own /etc and /run: nothing reaches another host or the real machine", () => {
    const l = theLab();
    const probe = `/etc/pod-routes-lab-probe-${crypto.randomBytes(4).toString("hex")}`;
    const marker = `10.1.2.3 probe-${crypto.randomBytes(4).toString("hex")}`;
    const realHosts = fs.readFileSync("/etc/hosts", "utf8");
    try {
      const w = sshRun(
        l,
        "node-0",
        `echo node-0 > ${probe} && echo '${marker}' >> /etc/hosts && cat ${probe}`,
      );
      expect(w).toMatchObject({ code: 0, stdout: "node-0\n" });

      expect(sshRun(l, "node-0", `cat ${probe}; grep -c '${marker}' /etc/hosts`).stdout).toBe("node-0\n1\n");
      expect(hostExec(l, "node-0", ["cat", probe])).toBe("node-0\n");
      for (const other of ["server", "node-1"]) {
        const r = sshRun(
          l,
          other,
          `test -e ${probe} && echo present || echo absent; grep -c '${marker}' /etc/hosts`,
        );
        expect(r.stdout).toBe("absent\n0\n");
        expect(hostRun(l, other, ["test", "-e", probe]).code).not.toBe(0);
      }
      expect(fs.existsSync(probe)).toBe(false);
      expect(fs.readFileSync("/etc/hosts", "utf8")).toBe(realHosts);
      // Where the write went: this host's overlay upper layer in the lab directory.
      expect(
        fs.readFileSync(path.join(l.dir, "hosts", "node-0", "etc-upper", path.basename(probe)), "utf8"),
      ).toBe("node-0\n");

      // No systemd reachable from inside, and /run is the host's own.
      const run = sshRun(
        l,
        "server",
        "test -e /run/systemd/system && echo systemd || echo none; touch /run/x-probe",
      );
      expect(run).toMatchObject({ code: 0, stdout: "none\n" });
      expect(fs.existsSync("/run/x-probe")).toBe(false);
      expect(hostRun(l, "node-1", ["test", "-e", "/run/x-probe"]).code).not.toBe(0);
    } finally {
      expect(fs.existsSync(probe)).toBe(false);
    }
  });

  it("needs routes for pods to reach each other across nodes, and works once they exist", () => {
    const l = theLab();
    const pod0 = labHost(l, "node-0").podIp ?? "";
    const pod1 = labHost(l, "node-1").podIp ?? "";
    expect(podPing(l, "node-0", pod1)).toBe(false);
    expect(podPing(l, "node-1", pod0)).toBe(false);

    hostExec(l, "node-0", ["ip", "route", "add", "10.200.1.0/24", "via", "198.19.249.136"]);
    hostExec(l, "node-1", ["ip", "route", "add", "10.200.0.0/24", "via", "198.19.249.34"]);
    try {
      expect(hostExec(l, "node-0", ["ip", "route", "show", "10.200.1.0/24"])).toMatch(
        /^10\.200\.1\.0\/24 via 198\.19\.249\.136 dev eth0/,
      );
      expect(podPing(l, "node-0", pod1)).toBe(true);
      expect(podPing(l, "node-1", pod0)).toBe(true);
    } finally {
      hostExec(l, "node-0", ["ip", "route", "del", "10.200.1.0/24"]);
      hostExec(l, "node-1", ["ip", "route", "del", "10.200.0.0/24"]);
    }
    expect(podPing(l, "node-0", pod1)).toBe(false);
  });

  it("stops and restarts one host's sshd; the host keeps its namespaces and its /etc", () => {
    const l = theLab();
    expect(sshRun(l, "node-1", "echo kept > /etc/pod-routes-lab-kept").code).toBe(0);
    sshdStop(l, "node-1");
    expect(readLab(l.dir).hosts.find((h) => h.name === "node-1")?.sshdPid).toBeNull();
    const down = sshRun(l, "node-1", "true", { timeoutMs: 20_000 });
    expect(down.code).not.toBe(0);
    expect(down.stderr).toMatch(/Connection refused/);
    expect(sshRun(l, "node-0", "true").code).toBe(0);
    // The host itself is still there: exec reaches its namespaces.
    expect(hostExec(l, "node-1", ["cat", "/etc/pod-routes-lab-kept"])).toBe("kept\n");

    sshdStart(l, "node-1");
    expect(readLab(l.dir).hosts.find((h) => h.name === "node-1")?.sshdPid).toEqual(expect.any(Number));
    expect(sshRun(l, "node-1", "cat /etc/pod-routes-lab-kept")).toMatchObject({ code: 0, stdout: "kept\n" });
  });

  it("tears down completely: no prl- namespace, no lab sshd, no lab directory", () => {
    const l = readLab(theLab().dir);
    labDown(l.dir);
    expect(labNamespaces()).toEqual([]);
    expect(fs.existsSync(l.dir)).toBe(false);
    // The workstation's veth is gone (and ssh is bound to it, so nothing leaves by another route).
    expect(fs.existsSync(`/sys/class/net/${l.workstationInterface}`)).toBe(false);
    const gone = sshRun(l, "node-0", "true", { timeoutMs: 20_000 });
    expect(gone.code).not.toBe(0);
    for (const h of l.hosts) {
      if (h.sshdPid === null) continue;
      let state = "";
      try {
        // A zombie waiting for PID 1 to reap it has exited too.
        state = fs
          .readFileSync(`/proc/${h.sshdPid}/stat`, "utf8")
          .replace(/^.*\) /, "")
          .charAt(0);
      } catch {
        state = "gone";
      }
      expect(["gone", "Z", "X"]).toContain(state);
    }
    // And down again is harmless.
    labDown(l.dir);
    expect(labNamespaces()).toEqual([]);
  });
});
