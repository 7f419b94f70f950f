// Runs the stack program (index.ts) once under Pulumi's mocks with the config of Pulumi.<stack>.yaml, in a
// process of its own, and prints as JSON which cloud SDKs the run left in require.cache. For
// tests/mocks/stack-sdks.test.ts:
//   node -r ts-node/register/transpile-only tests/mocks/stack-sdk-program.ts <gcp|aws|linode|baremetal>
// Nothing here may import a cloud SDK itself: the harness imports only @pulumi/pulumi.
import * as path from "path";
import { linodeInstance, TEST_KEY } from "../helpers/mocks";
import { InvokeHandler, ProgramFailure, runProgram, RunOptions } from "./harness";

export const CLOUD_SDKS = ["@pulumi/gcp", "@pulumi/aws", "@pulumi/linode"] as const;

export interface SdkReport {
  /** The cloud SDKs with any module in require.cache after the run. */
  readonly loaded: string[];
  /** The types of the resources the program registered. */
  readonly types: string[];
  /** The program's error, if it failed. */
  readonly error?: string;
}

const withKey: Pick<RunOptions, "overrides" | "secretKeys"> = {
  overrides: { "pod-routes:sshPrivateKey": TEST_KEY },
  secretKeys: ["pod-routes:sshPrivateKey"],
};
const worker = (filters: unknown) =>
  Number(String((filters as { values: string[] }[])[0]?.values[0]).slice(-1));

/** What each stack needs beyond its stack file: the SSH key, and the data sources its cloud answers. */
const STACKS: Record<string, Omit<RunOptions, "stack">> = {
  gcp: {},
  aws: {
    invokes: {
      "aws:ec2/getRouteTables:getRouteTables": () => ({ id: "us-west-2", ids: ["rtb-0a1b2c3d4e5f60718"] }),
      "aws:ec2/getRouteTable:getRouteTable": () => ({
        id: "rtb-0a1b2c3d4e5f60718",
        vpcId: "vpc-0a1b2c3d4e5f60718",
        routes: [],
      }),
      "aws:ec2/getInstance:getInstance": (args) => {
        const i = worker(args["filters"]);
        return {
          id: `i-0${i}aaaabbbbcccc000${i}`,
          privateIp: `10.240.0.2${i}`,
          ipv6Addresses: [],
          networkInterfaceId: `eni-0${i}ddddeeeeffff000${i}`,
          sourceDestCheck: false,
          userData: "",
          userDataBase64: Buffer.from(`name=worker-${i}|pod-cidr=10.200.${i}.0/24`).toString("base64"),
        };
      },
    } satisfies Record<string, InvokeHandler>,
  },
  linode: {
    ...withKey,
    invokes: {
      "linode:index/getInstances:getInstances": (args) => {
        const label = String((args["filters"] as { values: string[] }[])[0]?.values[0]);
        const n = (label.startsWith("worker") ? 20 : 10) + Number(label.slice(-1));
        return { instances: [linodeInstance(label, n)] };
      },
    },
  },
  baremetal: withKey,
};

/** The SDKs of which some module is in require.cache (resolving a package's path loads nothing). */
export function loadedSdks(): string[] {
  const files = Object.keys(require.cache);
  return CLOUD_SDKS.filter((sdk) => {
    const dir = path.dirname(require.resolve(`${sdk}/package.json`)) + path.sep;
    return files.some((file) => file.startsWith(dir));
  });
}

async function main(stack: string): Promise<SdkReport> {
  const options = STACKS[stack];
  if (!options) throw new Error(`no such stack: ${stack}`);
  try {
    const result = await runProgram({ stack, ...options });
    return { loaded: loadedSdks(), types: result.resources.map((r) => r.type) };
  } catch (error) {
    const failure = error instanceof ProgramFailure ? error : undefined;
    return {
      loaded: loadedSdks(),
      types: failure?.result.resources.map((r) => r.type) ?? [],
      error: String((error as Error).message),
    };
  }
}

if (require.main === module) {
  main(process.argv[2] ?? "").then(
    (report) => process.stdout.write(`${JSON.stringify(report)}\n`),
    (error: unknown) => {
      process.stderr.write(`${String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
