// The Ansible baselines of `npm run bench`: the same routes on the same lab hosts, idempotently, with
// ansible-core from PyPI (scripts/install-ansible.sh puts it in a virtual environment in the tools cache).
// Two playbooks: as people write it (a `command: ip route replace …` per route, a loop over the other nodes)
// and at its best (one `shell` task per host running one `ip -batch`, and nothing when the routes are there).
// `forks` = the host count, no fact gathering, the lab's client key and pinned host keys (its known_hosts).
import { execFileSync, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { Lab, PROJECT_ROOT, requireLabUp } from "../lab/lab";

/** The installed ansible-playbook (scripts/install-ansible.sh is idempotent: a no-op once it is there). */
export function installAnsible(): string {
  const out = execFileSync("bash", [path.join(PROJECT_ROOT, "scripts", "install-ansible.sh")], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  return out.trim().split("\n").pop() ?? "";
}

export function ansibleVersion(playbook: string): string {
  const out = execFileSync(playbook, ["--version"], {
    encoding: "utf8",
    env: { ...process.env, PYTHONWARNINGS: "ignore" },
  });
  return /\[core ([^\]]+)\]/.exec(out)?.[1] ?? out.split("\n")[0] ?? "";
}

/** As people write it: one `command` per route (a loop over every other node), `ip route replace` each. */
export const PER_ROUTE_PLAYBOOK = `- name: Pod routes, one command per route
  hosts: nodes
  gather_facts: false
  tasks:
    - name: A route to every other node's pod subnet
      ansible.builtin.command: ip route replace {{ hostvars[item].pod_subnet }} via {{ hostvars[item].ansible_host }}
      loop: "{{ groups['nodes'] | difference([inventory_hostname]) }}"
      when: hostvars[item].pod_subnet is defined
`;

/**
 * At its best: one \`shell\` task per host that compares the host's routes with the wanted ones and, when
 * they differ, installs them all with one \`ip -batch\` (reporting "changed" only then).
 */
export const BATCH_PLAYBOOK = `- name: Pod routes, one ip -batch per host
  hosts: nodes
  gather_facts: false
  tasks:
    - name: Every route of this host in one ip -batch, when they are not all there
      ansible.builtin.shell: |
        want=$(cat <<'EOF' | sort
        {% for h in groups['nodes'] | difference([inventory_hostname]) if hostvars[h].pod_subnet is defined %}
        {{ hostvars[h].pod_subnet }} via {{ hostvars[h].ansible_host }}
        {% endfor %}
        EOF
        )
        have=$(ip route show root {{ cluster_cidr }} proto boot | sed 's/ dev [^ ]*//; s/ *$//' | sort)
        if [ "$want" = "$have" ]; then echo unchanged; exit 0; fi
        printf '%s\\n' "$want" | sed 's/^/route replace /' | ip -batch -
        echo changed
      register: result
      changed_when: "'changed' in result.stdout_lines"
`;

export interface AnsibleRun {
  readonly ms: number;
  /** From the PLAY RECAP, summed over hosts. */
  readonly ok: number;
  readonly changed: number;
  readonly failed: number;
  readonly unreachable: number;
  readonly skipped: number;
}

export interface AnsibleProject {
  readonly dir: string;
  /** `ansible-playbook <name>.yml` (written from `playbook`) against the lab, timed; throws unless every host succeeds. */
  run(name: string, playbook: string): Promise<AnsibleRun>;
  /** Closes the SSH control masters Ansible keeps (ControlPersist), so nothing outlives a run. */
  closeMasters(): void;
}

/**
 * An Ansible project in `dir` for the lab: an inventory of its hosts (address, pod subnet), an ansible.cfg
 * with forks = the host count and Ansible's own SSH defaults (ControlMaster, ControlPersist=60s) plus the
 * lab's key, its known_hosts (strict) and its interface, and pipelining on.
 */
export function ansibleProject(
  dir: string,
  lab: Lab,
  playbookBin: string,
  clusterCidr: string,
): AnsibleProject {
  fs.mkdirSync(dir, { recursive: true });
  const controlDir = path.join(dir, "cp");
  fs.mkdirSync(controlDir, { recursive: true });
  const hosts = lab.hosts
    .map(
      (h) =>
        `        ${h.name}:\n          ansible_host: ${h.ip}\n` +
        (h.podCidr !== undefined ? `          pod_subnet: ${h.podCidr}\n` : ""),
    )
    .join("");
  fs.writeFileSync(
    path.join(dir, "inventory.yml"),
    `all:\n  vars:\n    ansible_user: root\n    cluster_cidr: ${clusterCidr}\n  children:\n    nodes:\n      hosts:\n${hosts}`,
  );
  const sshArgs = [
    "-F none",
    "-o ControlMaster=auto",
    "-o ControlPersist=60s",
    "-o IdentitiesOnly=yes",
    `-o UserKnownHostsFile=${lab.knownHosts}`,
    "-o GlobalKnownHostsFile=/dev/null",
    "-o StrictHostKeyChecking=yes",
    `-o BindInterface=${lab.workstationInterface}`,
    "-o ConnectTimeout=5",
  ].join(" ");
  fs.writeFileSync(
    path.join(dir, "ansible.cfg"),
    [
      "[defaults]",
      "inventory = inventory.yml",
      `forks = ${lab.hosts.length}`,
      "host_key_checking = True",
      `private_key_file = ${lab.clientKey}`,
      "interpreter_python = /usr/bin/python3",
      "retry_files_enabled = False",
      // The hosts share this machine's /root: keep Ansible's remote temporary files in the bench's directory.
      `remote_tmp = ${path.join(dir, "remote-tmp")}`,
      "",
      "[ssh_connection]",
      `ssh_args = ${sshArgs}`,
      `control_path_dir = ${controlDir}`,
      "pipelining = True",
      "",
    ].join("\n"),
  );
  const env = {
    ...process.env,
    ANSIBLE_CONFIG: path.join(dir, "ansible.cfg"),
    ANSIBLE_HOME: path.join(dir, "home"),
    ANSIBLE_LOCAL_TEMP: path.join(dir, "tmp"),
    ANSIBLE_NOCOLOR: "1",
    PYTHONWARNINGS: "ignore",
  };
  const closeMasters = () => {
    if (!fs.existsSync(controlDir)) return;
    for (const socket of fs.readdirSync(controlDir)) {
      // Talks to the local control socket only; a master that already exited just fails.
      spawnSync(
        "ssh",
        ["-F", "none", "-o", `ControlPath=${path.join(controlDir, socket)}`, "-O", "exit", "x"],
        {
          stdio: "ignore",
        },
      );
    }
  };
  return {
    dir,
    closeMasters,
    async run(name, playbook) {
      const file = path.join(dir, `${name}.yml`);
      fs.writeFileSync(file, playbook);
      requireLabUp(lab, "running ansible-playbook");
      const started = process.hrtime.bigint();
      const child = spawn(playbookBin, [file], { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      child.stderr.on("data", (d: Buffer) => (out += d.toString()));
      const code = await new Promise<number>((resolve, reject) => {
        child.on("error", reject);
        child.on("close", (c) => resolve(c ?? 128));
      });
      const ms = Math.round(Number(process.hrtime.bigint() - started) / 1e6);
      closeMasters();
      const recap = { ok: 0, changed: 0, failed: 0, unreachable: 0, skipped: 0 };
      for (const line of out.split("\n")) {
        if (!/^\S+\s+:\s+ok=/.test(line)) continue;
        for (const key of Object.keys(recap) as (keyof typeof recap)[]) {
          recap[key] += Number(new RegExp(`\\b${key}=(\\d+)`).exec(line)?.[1] ?? 0);
        }
      }
      if (code !== 0 || recap.failed > 0 || recap.unreachable > 0) {
        throw new Error(`ansible-playbook ${path.basename(file)} exited ${code}:\n${out.slice(-5000)}`);
      }
      return { ms, ...recap };
    },
  };
}
