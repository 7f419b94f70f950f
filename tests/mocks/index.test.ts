// index.ts picks the cloud from stack config and says what is wrong when config is missing or bad.
import { runProgramExpectingFailure, created } from "./harness";

describe("index.ts", () => {
  it.each<[string, Record<string, unknown>, string[]]>([
    [
      "no cloud set",
      { "pod-routes:cloud": undefined },
      [
        "pod-routes found 1 problem in the stack config",
        "pod-routes:cloud: is not set; run `pulumi config set pod-routes:cloud <gcp|aws|linode|baremetal>`",
      ],
    ],
    [
      "an unknown cloud",
      { "pod-routes:cloud": "azure" },
      ['pod-routes:cloud: must be one of gcp, aws, linode, baremetal (got "azure")'],
    ],
    [
      "several problems at once",
      {
        "pod-routes:clustrCidr": "10.200.0.0/16",
        "pod-routes:gcp": { priority: "high" },
        "pod-routes:ssh": { connectAddresses: { "worker-0": "1.2.3.4; rm -rf /" } },
      },
      [
        "pod-routes:clustrCidr: unknown setting",
        "pod-routes:gcp.priority:",
        "pod-routes:ssh.connectAddresses.worker-0: must be an IP address or a host name",
      ],
    ],
  ])("fails clearly with %s, creating nothing", async (_label, overrides, expected) => {
    const failure = await runProgramExpectingFailure({ stack: "gcp", overrides });
    for (const text of expected) expect(failure.message).toContain(text);
    expect(failure.message).toContain("nothing was created or changed");
    expect(created(failure.result)).toEqual([]);
  });
});
