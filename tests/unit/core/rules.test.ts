// Every layer that checks a node name or a resync interval takes the rule from core/rules.ts: the spec, the
// stack config, the SSH component and the host program's renderer must accept and refuse the same values.
import * as fc from "fast-check";
import { validateSpec } from "../../../core/validate";
import { isResyncInterval, isRfc1123Name } from "../../../core/rules";
import { parseStackConfig } from "../../../stack/config";
import { checkArgs } from "../../../ssh/component";
import { safe, SafeKind } from "../../../ssh/host-program/render";

const nodes = [{ name: "worker-0", ip: "10.240.0.20", podCidr: "10.200.0.0/24" }];

/** Whether the renderer takes `value` as a `what` (its `safe` throws on what it refuses). */
function rendererTakes(what: SafeKind, value: string): boolean {
  try {
    safe(what, value);
    return true;
  } catch {
    return false;
  }
}

/** Whether each layer takes `name` as a node (or instance) name. */
function nameVerdicts(name: string) {
  const spec = validateSpec({ nodes: [{ ...nodes[0], name }] }).ok;
  const config =
    parseStackConfig({ cloud: "linode", linode: { workers: [name] } }).problems.filter((p) =>
      p.where.startsWith("pod-routes:linode.workers"),
    ).length === 0;
  const renderer = rendererTakes("name", name);
  return { rule: isRfc1123Name(name), spec, config, renderer };
}

function intervalVerdicts(interval: string) {
  const config =
    parseStackConfig({ cloud: "baremetal", nodes, ssh: { resyncInterval: interval } }).problems.length === 0;
  const component =
    checkArgs("pr", { nodes, privateKey: "k", insecureIgnoreHostKeys: true, resyncInterval: interval })
      .length === 0;
  const renderer = rendererTakes("interval", interval);
  return { rule: isResyncInterval(interval), config, component, renderer };
}

const same = (verdicts: Record<string, boolean>) => new Set(Object.values(verdicts)).size === 1;

describe("one rule per value, every layer", () => {
  it.each([
    ["worker-0", true],
    ["node-1.kubernetes.local", true],
    ["a..b", false],
    ["-a", false],
    ["a-", false],
    ["Worker-0", false],
    ["a".repeat(64), false],
    [`${"a".repeat(63)}.${"b".repeat(63)}`, true],
    ["a;b", false],
  ])("node name %j: every layer says %s", (name, expected) => {
    expect(nameVerdicts(name)).toEqual({
      rule: expected,
      spec: expected,
      config: expected,
      renderer: expected,
    });
  });

  it.each([
    ["15min", true],
    ["30s", true],
    ["1h", true],
    ["0s", false],
    ["15m", false],
    ["1min 30s", false],
    ["1234567s", false],
  ])("resync interval %j: every layer says %s", (interval, expected) => {
    expect(intervalVerdicts(interval)).toEqual({
      rule: expected,
      config: expected,
      component: expected,
      renderer: expected,
    });
  });

  it("agrees on arbitrary names and intervals", () => {
    const text = fc.stringMatching(/^[-a-z0-9.A;]{1,70}$/);
    fc.assert(fc.property(text, (name) => same(nameVerdicts(name))));
    fc.assert(fc.property(fc.stringMatching(/^[0-9]{1,8}(s|min|h|m| )?$/), (i) => same(intervalVerdicts(i))));
  });
});
