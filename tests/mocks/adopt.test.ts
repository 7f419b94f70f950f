// Adopting the routes the runbooks made by hand: the first `pulumi up` imports them instead of failing.
import { ofType, runProgram, runProgramExpectingFailure, created } from "./harness";

describe("pod-routes:adopt", () => {
  it("is off by default: routes are created, not imported", async () => {
    const result = await runProgram({ stack: "gcp" });
    expect(ofType(result, "gcp:compute/route:Route").map((r) => r.options.importId)).toEqual(["", "", ""]);
  });

  it("imports the runbook's gcloud routes by their GCP ids", async () => {
    const result = await runProgram({ stack: "gcp", overrides: { "pod-routes:adopt": true } });
    expect(
      ofType(result, "gcp:compute/route:Route").map((r) => [r.inputs["name"], r.options.importId]),
    ).toEqual(
      [0, 1, 2].map((i) => [
        `kubernetes-route-10-200-${i}-0-24`,
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
    const result = await runProgram({
      stack: "aws",
      overrides: {
        "pod-routes:adopt": true,
        "pod-routes:aws": { routeTableId: "rtb-0a1b2c3d4e5f60718" },
        "pod-routes:nodes": [0, 1, 2].map((i) => ({
          name: `worker-${i}`,
          ip: `10.240.0.2${i}`,
          podCidr: `10.200.${i}.0/24`,
        })),
      },
      invokes: {
        "aws:ec2/getRouteTable:getRouteTable": () => ({
          id: "rtb-0a1b2c3d4e5f60718",
          vpcId: "vpc-0123456789abcdef0",
          routes: [],
        }),
        "aws:ec2/getInstance:getInstance": (args) => {
          const name = String((args["filters"] as { name: string; values: string[] }[])[0]!.values[0]);
          const i = Number(name.slice(-1));
          return {
            id: `i-0${i}aaaabbbbcccc000${i}`,
            privateIp: `10.240.0.2${i}`,
            networkInterfaceId: eni(i),
            sourceDestCheck: false,
            userData: "",
            userDataBase64: "",
          };
        },
      },
    });
    expect(
      ofType(result, "aws:ec2/route:Route").map((r) => [r.options.importId, r.inputs["networkInterfaceId"]]),
    ).toEqual([0, 1, 2].map((i) => [`rtb-0a1b2c3d4e5f60718_10.200.${i}.0/24`, eni(i)]));
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
