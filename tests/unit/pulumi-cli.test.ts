// The pure parts of the CLI harness and the README transcripts: what the engine tests read from `pulumi`'s
// output, on text as the CLI prints it.
import { changeSummary } from "../../lab/pulumi-cli";
import { cutTranscript, readmeTranscript, withTranscript } from "../../lab/transcripts";

describe("changeSummary: the Resources block the CLI prints", () => {
  it.each([
    ["a preview", "Resources:\n    + 6 to create\n\n", { create: 6 }],
    [
      "an up after its preview (the last block counts)",
      "Resources:\n    + 6 to create\n\nUpdating\nResources:\n    + 6 created\n\nDuration: 5s\n",
      { create: 6 },
    ],
    ["a no-change up", "Resources:\n    6 unchanged\n\n", { same: 6 }],
    [
      "several kinds of change",
      "Resources:\n    ~ 3 updated\n    - 1 deleted\n    4 changes. 3 unchanged\n\n",
      { update: 3, delete: 1, same: 3 },
    ],
    [
      "a replacement",
      "Resources:\n    +-1 replaced\n    ~ 2 updated\n    3 changes. 3 unchanged\n",
      { replace: 1, update: 2, same: 3 },
    ],
    ["a destroy", "Resources:\n    - 6 deleted\n\n", { delete: 6 }],
  ])("%s", (_what, output, expected) => {
    expect(changeSummary(output)).toEqual(expected);
  });

  it("fails naming the output when there is no summary", () => {
    expect(() => changeSummary("error: something")).toThrow('no "Resources:" summary');
  });
});

const PREVIEW = `Previewing update (baremetal):
  pulumi:pulumi:Stack: (same)
    [urn=urn:pulumi:baremetal::pod-routes::pulumi:pulumi:Stack::pod-routes-baremetal]
    ~ pulumi-nodejs:dynamic/pod-routes:HostRoutes: (update)
        [id=node-0@198.19.249.34]
        [urn=urn:pulumi:baremetal::pod-routes::pod-routes:ssh:PodRoutes$pulumi-nodejs:dynamic/pod-routes:HostRoutes::pod-routes-node-0]
        address              : "198.19.249.34"
      ~ routes               : {
            10.200.1.0/24: "198.19.249.136 node-1"
          + 10.200.2.0/24: "198.19.249.200 node-2"
        }
        user                 : "root"
    ~ pulumi-nodejs:dynamic/pod-routes:HostRoutes: (update)
        [id=node-1@198.19.249.136]
`;

describe("cutTranscript: one host's change, as the README shows it", () => {
  it("keeps the header, the id and URN (abbreviated), and the changed property's whole block", () => {
    expect(cutTranscript(PREVIEW, "pod-routes-node-0", "routes")).toBe(
      [
        "    ~ pulumi-nodejs:dynamic/pod-routes:HostRoutes: (update)",
        "        [id=node-0@198.19.249.34]",
        "        [urn=…::pod-routes-node-0]",
        "        …",
        "      ~ routes               : {",
        '            10.200.1.0/24: "198.19.249.136 node-1"',
        '          + 10.200.2.0/24: "198.19.249.200 node-2"',
        "        }",
      ].join("\n"),
    );
  });

  it("fails naming what it did not find", () => {
    expect(() => cutTranscript(PREVIEW, "pod-routes-node-9", "routes")).toThrow("no pod-routes-node-9");
    expect(() => cutTranscript(PREVIEW, "pod-routes-node-0", "drift")).toThrow(
      "no drift of pod-routes-node-0",
    );
  });

  it("reads and replaces a README block between its markers, blank lines or not", () => {
    const readme = "a\n<!-- transcript:refresh-drift -->\n\n```\nold\n```\n\n<!-- /transcript -->\nb\n";
    expect(readmeTranscript(readme, "refresh-drift")).toBe("old");
    const updated = withTranscript(readme, "refresh-drift", "new\nlines");
    expect(readmeTranscript(updated, "refresh-drift")).toBe("new\nlines");
    expect(updated.startsWith("a\n") && updated.endsWith("b\n")).toBe(true);
    expect(() => readmeTranscript("no markers", "preview-node-added")).toThrow(
      'no transcript block "preview-node-added"',
    );
  });
});
