// Adopting the routes the runbooks made by hand: the first `pulumi up` imports them instead of failing.
import { gcpRunbookRoute } from "../helpers/mocks";
import { awsExplicit, created, ofType, runProgram, runProgramExpectingFailure } from "./harness";

describe("pod-routes:adopt", () => {
  it("is off by default: routes are created, not imported", async () => {
    const result = await runProgram({ stack: "gcp" });
    expect(ofType(result, "gcp:compute/route:Route").map((r) => r.options.importId)).toEqual(["", "", ""]);
  });

  it("imports the runbook's gcloud routes by their GCP ids", async () => {
    const result = await runProgram({ stack: "gcp", overrides: { "pod-routes:adopt": true } });
    // Every input, exactly: an import shows a diff for any the hand-made route does not have.
    expect(ofType(result, "gcp:compute/route:Route").map((r) => [r.inputs, r.options.importId])).toEqual(
      [0, 1, 2].map((i) => [
        gcpRunbookRoute(i),
        `projects/kubernetes-the-hard-way/global/routes/kubernetes-route-10-200-${i}-0-24`,
      ]),
    );
  });

  it('reads "true" as `pulumi config set pod-routes:adopt true` stores it, as the offline CLI does', async () => {
    const result = await runProgram({ stack: "gcp", overrides: { "pod-routes:adopt": "true" } });
    expect(ofType(result, "gcp:compute/route:Route").map((r) => r.options.importId)).toEqual(
      [0, 1, 2].map(
        (i) => `projects/kubernetes-the-hard-way/global/routes/kubernetes-route-10-200-${i}-0-24`,
      ),
    );
  });

  it("needs a project to build GCP import ids, and says where to set it", async () => {
    const failure = await runProgramExpectingFailure({
      stack: "gcp",
      overrides: { "pod-routes:adopt": true, "gcp:project": undefined },
    });
    expect(failure.message).toContain(
      "pod-routes:adopt: needs the project to build import ids; set gcp:project or pod-routes:gcp.project",
    );
    expect(created(failure.result)).toEqual([]);
  });

  it("imports the runbook's aws ec2 create-route entries as <table>_<destination>", async () => {
    const eni = (i: number) => `eni-0${i}ddddeeeeffff000${i}`;
    const aws = awsExplicit(eni);
    const result = await runProgram({
      stack: "aws",
      overrides: { ...aws.overrides, "pod-routes:adopt": true },
      invokes: aws.invokes,
    });
    expect(ofType(result, "aws:ec2/route:Route").map((r) => [r.options.importId, r.inputs])).toEqual(
      [0, 1, 2].map((i) => [
        `rtb-0a1b2c3d4e5f60718_10.200.${i}.0/24`,
        {
          routeTableId: "rtb-0a1b2c3d4e5f60718",
          networkInterfaceId: eni(i),
          destinationCidrBlock: `10.200.${i}.0/24`,
        },
      ]),
    );
  });

  it("passes adopt to every host", async () => {
    const result = await runProgram({
      stack: "baremetal",
      overrides: { "pod-routes:adopt": true, "pod-routes:sshPrivateKey": "key" },
    });
    const hosts = ofType(result, "pulumi-nodejs:dynamic/pod-routes:HostRoutes");
    expect(hosts.map((h) => h.inputs["adopt"])).toEqual([true, true, true]);
  });
});
