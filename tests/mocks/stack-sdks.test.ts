// Issue 17 item 2: a stack loads only the cloud SDK it uses (@pulumi/aws alone takes about a second to load,
// and a bare-metal stack needs none). Each stack's program runs in a fresh Node process (ts-node,
// transpile-only, as `pulumi` runs it), under mocks with its stack file's config, and reports which SDKs
// ended up in require.cache.
import { execFile } from "child_process";
import * as path from "path";
import { promisify } from "util";
import { PROJECT_ROOT } from "./harness";
import type { SdkReport } from "./stack-sdk-program";

const run = async (stack: string): Promise<SdkReport> => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ["-r", "ts-node/register/transpile-only", path.join(__dirname, "stack-sdk-program.ts"), stack],
    {
      cwd: PROJECT_ROOT,
      encoding: "utf8",
      timeout: 110_000,
      env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true" },
    },
  );
  return JSON.parse(stdout.trim().split("\n").pop() ?? "{}") as SdkReport;
};

it("issue 17 item 2: the stack program loads only its cloud's SDK", async () => {
  const stacks = ["gcp", "aws", "linode", "baremetal"];
  const reports = Object.fromEntries(
    await Promise.all(stacks.map(async (stack) => [stack, await run(stack)] as const)),
  );
  // Each program ran to the end and registered its cloud's resources (a failure could stop before a load).
  for (const [stack, report] of Object.entries(reports)) {
    expect([stack, report.error]).toEqual([stack, undefined]);
  }
  const routes = (report: SdkReport | undefined, type: string) =>
    report?.types.filter((t) => t === type).length;
  expect(routes(reports["gcp"], "gcp:compute/route:Route")).toBe(3);
  expect(routes(reports["aws"], "aws:ec2/route:Route")).toBe(3);
  expect(routes(reports["linode"], "pulumi-nodejs:dynamic/pod-routes:HostRoutes")).toBe(6);
  expect(routes(reports["baremetal"], "pulumi-nodejs:dynamic/pod-routes:HostRoutes")).toBe(3);
  expect(Object.fromEntries(stacks.map((stack) => [stack, reports[stack]?.loaded]))).toEqual({
    gcp: ["@pulumi/gcp"],
    aws: ["@pulumi/aws"],
    linode: ["@pulumi/linode"],
    baremetal: [],
  });
}, 120_000);
