// The AWS provider under Pulumi's mocks: the real index.ts with Pulumi.aws.yaml, and the AWS data sources
// answered by a small fake of EC2 shaped like the runbook (workers worker-0..2 at 10.240.0.2i, user data
// `name=worker-i|pod-cidr=10.200.i.0/24`, one route table tagged kubernetes.io/cluster/kubernetes-the-hard-way).
import { createHash } from "crypto";
import { AwsRouteTableFacts, checkRouteLimit } from "../../aws/plan";
import { podCidrFromUserData } from "../../stack/discovery/aws-instances";
import { setting } from "../../stack/stack-plan";
import { InvokeHandler, ofType, RunResult, runProgram, runProgramExpectingFailure, created } from "./harness";

const ROUTE = "aws:ec2/route:Route";
const GET_INSTANCE = "aws:ec2/getInstance:getInstance";
const GET_ROUTE_TABLES = "aws:ec2/getRouteTables:getRouteTables";
const GET_ROUTE_TABLE = "aws:ec2/getRouteTable:getRouteTable";

const CLUSTER_TAG = "kubernetes.io/cluster/kubernetes-the-hard-way";
const VPC = "vpc-0a1b2c3d4e5f60718";
const OTHER_VPC = "vpc-0ffffffffffffffff";
/** The table the runbook tags for the cluster. */
const TAGGED_TABLE = "rtb-0a1b2c3d4e5f60718";
/** An untagged table in the same VPC, for the explicit-id mode. */
const EXPLICIT_TABLE = "rtb-0ffff000011112222";
/** The table the CloudFormation network stack exports as hard-k8s-rtb. */
const CFN_TABLE = "rtb-0cf0000000000cafe";
const CFN_STACK = "acme/hard-k8s-network/prod";

// ---- A fake EC2: instances and route tables, queried through the same filters AWS understands. ----

interface FakeInstance {
  id: string;
  name: string;
  vpcId: string;
  state: string;
  privateIp: string;
  ipv6Addresses: string[];
  networkInterfaceId: string;
  sourceDestCheck: boolean;
  /** What the provider returns in userDataBase64 when getUserData is true. */
  userDataBase64: string;
  /** What the provider returns in userData: a SHA-1 hash of the user data. */
  userData: string;
}
interface FakeTable {
  vpcId: string;
  tags: string[];
  /** As the data source returns them: no `local` route, no propagated routes. */
  routes: Array<{ cidrBlock?: string; ipv6CidrBlock?: string; destinationPrefixListId?: string }>;
}
interface World {
  instances: FakeInstance[];
  tables: Record<string, FakeTable>;
}
type Filter = { name: string; values: string[] };

const base64 = (text: string) => Buffer.from(text).toString("base64");
const sha1 = (text: string) => createHash("sha1").update(text).digest("hex");
const runbookUserData = (i: number) => `name=worker-${i}|pod-cidr=10.200.${i}.0/24`;
const instanceId = (i: number) => `i-0${i}aaaabbbbcccc000${i}`;
const eni = (i: number) => `eni-0${i}ddddeeeeffff000${i}`;

const worker = (i: number, patch: Partial<FakeInstance> = {}): FakeInstance => ({
  id: instanceId(i),
  name: `worker-${i}`,
  vpcId: VPC,
  state: "running",
  privateIp: `10.240.0.2${i}`,
  ipv6Addresses: [],
  networkInterfaceId: eni(i),
  sourceDestCheck: false,
  userDataBase64: base64(runbookUserData(i)),
  userData: sha1(runbookUserData(i)),
  ...patch,
});

const runbook = (): World => ({
  instances: [
    worker(0),
    worker(1),
    worker(2),
    // A controller keeps its source/dest check on: it is never a route target, so that is fine.
    {
      ...worker(9),
      id: "i-0c0c0c0c0c0c0c0c0",
      name: "controller-0",
      privateIp: "10.240.0.10",
      networkInterfaceId: "eni-0c0c0c0c0c0c0c0c0",
      sourceDestCheck: true,
      userDataBase64: base64("name=controller-0"),
      userData: sha1("name=controller-0"),
    },
    // Same Name tags in another VPC, and a terminated leftover: a loose lookup would pick these up.
    worker(0, { id: "i-0d0c0000000000000", vpcId: OTHER_VPC, privateIp: "10.0.0.20" }),
    worker(1, { id: "i-0dead000000000000", state: "terminated", privateIp: "10.240.0.99" }),
  ],
  tables: {
    [TAGGED_TABLE]: { vpcId: VPC, tags: [CLUSTER_TAG], routes: [{ cidrBlock: "0.0.0.0/0" }] },
    [EXPLICIT_TABLE]: { vpcId: VPC, tags: [], routes: [] },
    [CFN_TABLE]: { vpcId: VPC, tags: [], routes: [{ cidrBlock: "0.0.0.0/0" }] },
    "rtb-0e1e1e1e1e1e1e1e1": { vpcId: OTHER_VPC, tags: [], routes: [] },
  },
});

function matches(filters: Filter[], fields: Record<string, string[]>): boolean {
  return filters.every((filter) => {
    const values = fields[filter.name];
    if (values === undefined) throw new Error(`the fake EC2 does not know the filter ${filter.name}`);
    return filter.values.some((v) => values.includes(v));
  });
}

function fakeEc2(world: World): Record<string, InvokeHandler> {
  return {
    [GET_INSTANCE]: (args) => {
      const filters = (args["filters"] as Filter[] | undefined) ?? [];
      const found = world.instances.filter(
        (i) =>
          (args["instanceId"] === undefined || i.id === args["instanceId"]) &&
          matches(filters, {
            "tag:Name": [i.name],
            "vpc-id": [i.vpcId],
            "instance-state-name": [i.state],
          }),
      );
      if (found.length === 0)
        throw new Error("Your query returned no results. Please change your search criteria and try again.");
      if (found.length > 1) throw new Error("multiple EC2 Instances matched; use additional constraints");
      const instance = found[0]!;
      return {
        id: instance.id,
        privateIp: instance.privateIp,
        ipv6Addresses: instance.ipv6Addresses,
        networkInterfaceId: instance.networkInterfaceId,
        sourceDestCheck: instance.sourceDestCheck,
        userData: instance.userData,
        userDataBase64: args["getUserData"] === true ? instance.userDataBase64 : "",
        instanceState: instance.state,
        instanceTags: { Name: instance.name },
      };
    },
    [GET_ROUTE_TABLES]: (args) => {
      const filters = (args["filters"] as Filter[] | undefined) ?? [];
      const ids = Object.entries(world.tables)
        .filter(([, table]) => matches(filters, { "tag-key": table.tags, "vpc-id": [table.vpcId] }))
        .map(([id]) => id);
      return { id: "us-west-2", ids };
    },
    [GET_ROUTE_TABLE]: (args) => {
      const id = String(args["routeTableId"]);
      const table = world.tables[id];
      if (table === undefined)
        throw new Error("Your query returned no results. Please change your search criteria and try again.");
      return { id, routeTableId: id, vpcId: table.vpcId, routes: table.routes };
    },
  };
}

// ---- Config shapes for the other modes. ----

const explicitNodes = (ip = (i: number) => `10.240.0.2${i}`) => [
  { name: "controller-0", ip: "10.240.0.10" },
  ...[0, 1, 2].map((i) => ({ name: `worker-${i}`, ip: ip(i), podCidr: `10.200.${i}.0/24` })),
];
const explicitTable = (patch: Record<string, unknown> = {}) => ({
  "pod-routes:aws": { routeTableId: EXPLICIT_TABLE, ...patch },
  "pod-routes:nodes": explicitNodes(),
});
const cloudFormation = (patch: Record<string, unknown> = {}) => ({
  "pod-routes:aws": {
    stackReference: {
      name: CFN_STACK,
      routeTableOutput: "hard-k8s-rtb",
      instanceOutputs: {
        "worker-0": "hard-k8s-worker-0",
        "worker-1": "hard-k8s-worker-1",
        "worker-2": "hard-k8s-worker-2",
      },
    },
    discovery: { instances: ["worker-0", "worker-1", "worker-2"] },
    ...patch,
  },
});
const cfnExports = (patch: Record<string, unknown> = {}) => ({
  [CFN_STACK]: {
    "hard-k8s-rtb": CFN_TABLE,
    "hard-k8s-worker-0": instanceId(0),
    "hard-k8s-worker-1": instanceId(1),
    "hard-k8s-worker-2": instanceId(2),
    ...patch,
  },
});

// ---- What the tests look at. ----

/** Each route's name and every one of its inputs, exactly: a key the component misspells (so the SDK drops it) fails. */
const routesOf = (result: RunResult) =>
  ofType(result, ROUTE).map((r) => ({ name: r.name, inputs: r.inputs }));
const runbookRoutes = (table: string) =>
  [0, 1, 2].map((i) => ({
    name: `pod-routes-10-200-${i}-0-24`,
    inputs: { routeTableId: table, networkInterfaceId: eni(i), destinationCidrBlock: `10.200.${i}.0/24` },
  }));
const runbookRows = (table: string) =>
  [0, 1, 2].map((i) => ({
    destination: `10.200.${i}.0/24`,
    nextHop: `10.240.0.2${i}`,
    node: `worker-${i}`,
    where: table,
  }));
const invokesOf = (result: RunResult, token: string) =>
  result.invokes.filter((i) => i.token === token).map((i) => i.args);

describe("AWS stack (Pulumi.aws.yaml): table by cluster tag, workers by Name tag, pod CIDRs from user data", () => {
  it("creates the runbook's three routes, each targeting its worker's primary network interface", async () => {
    const result = await runProgram({ stack: "aws", invokes: fakeEc2(runbook()) });
    expect(routesOf(result)).toEqual(runbookRoutes(TAGGED_TABLE));
    for (const route of ofType(result, ROUTE)) {
      // The same destination cannot exist twice in one table: the old route must go before its replacement.
      expect(route.options.deleteBeforeReplace).toBe(true);
      expect(route.options.importId).toBe("");
    }
    expect(result.resources.map((r) => r.type)).toEqual(["pod-routes:aws:PodRoutes", ROUTE, ROUTE, ROUTE]);
    expect(result.outputs).toEqual({ cloud: "aws", routes: runbookRows(TAGGED_TABLE) });
  });

  it("looks the table up by the tag, then the workers by Name tag in that table's VPC, with their user data", async () => {
    const result = await runProgram({ stack: "aws", invokes: fakeEc2(runbook()) });
    expect(invokesOf(result, GET_ROUTE_TABLES)).toEqual([
      { filters: [{ name: "tag-key", values: [CLUSTER_TAG] }] },
    ]);
    expect(invokesOf(result, GET_ROUTE_TABLE)).toEqual([{ routeTableId: TAGGED_TABLE }]);
    const lookups = invokesOf(result, GET_INSTANCE);
    expect(lookups.map((l) => l["filters"])).toEqual(
      [0, 1, 2].map((i) => [
        { name: "tag:Name", values: [`worker-${i}`] },
        { name: "vpc-id", values: [VPC] },
        { name: "instance-state-name", values: ["pending", "running", "stopping", "stopped"] },
      ]),
    );
    for (const lookup of lookups) expect(lookup["getUserData"]).toBe(true);
  });

  it("narrows the tag lookup to pod-routes:aws.vpcId when it is set", async () => {
    const world = runbook();
    // The same tag on a table in another VPC: only vpcId tells them apart.
    world.tables["rtb-0e1e1e1e1e1e1e1e1"]!.tags.push(CLUSTER_TAG);
    const aws = {
      clusterName: "kubernetes-the-hard-way",
      vpcId: VPC,
      discovery: { instances: ["worker-0", "worker-1", "worker-2"] },
    };
    const result = await runProgram({
      stack: "aws",
      invokes: fakeEc2(world),
      overrides: { "pod-routes:aws": aws },
    });
    expect(invokesOf(result, GET_ROUTE_TABLES)).toEqual([
      {
        filters: [
          { name: "tag-key", values: [CLUSTER_TAG] },
          { name: "vpc-id", values: [VPC] },
        ],
      },
    ]);
    expect(routesOf(result)).toEqual(runbookRoutes(TAGGED_TABLE));
  });

  it.each<[string, Partial<FakeInstance>]>([
    ["base64, as the provider returns it", {}],
    ["plain text in userDataBase64", { userDataBase64: runbookUserData(1) }],
    ["plain text in userData (no base64 copy)", { userDataBase64: "", userData: runbookUserData(1) }],
    [
      "a base64 script with pod-cidr on its own line",
      { userDataBase64: base64("#!/bin/bash\n# name=worker-1\npod-cidr=10.200.1.0/24\r\n") },
    ],
  ])("reads the pod CIDR from user data given as %s", async (_label, patch) => {
    const world = runbook();
    world.instances[1] = worker(1, patch);
    const result = await runProgram({ stack: "aws", invokes: fakeEc2(world) });
    expect(routesOf(result)).toEqual(runbookRoutes(TAGGED_TABLE));
  });
});

describe("AWS route table sources", () => {
  it.each<[string, Record<string, unknown>, Record<string, Record<string, unknown>>, string]>([
    ["the cluster tag (aws.clusterName)", {}, {}, TAGGED_TABLE],
    ["an explicit id (aws.routeTableId) with a node list", explicitTable(), {}, EXPLICIT_TABLE],
    ["another stack's output (aws.stackReference)", cloudFormation(), cfnExports(), CFN_TABLE],
  ])("puts the routes in the table from %s", async (_label, overrides, stackReferences, table) => {
    const result = await runProgram({
      stack: "aws",
      invokes: fakeEc2(runbook()),
      overrides,
      stackReferences,
    });
    expect(routesOf(result)).toEqual(runbookRoutes(table));
    expect(result.outputs["routes"]).toEqual(runbookRows(table));
    expect(invokesOf(result, GET_ROUTE_TABLE)).toEqual([{ routeTableId: table }]);
  });

  it("uses an explicit id as given, looks up only the workers, and checks them against the node list", async () => {
    const result = await runProgram({
      stack: "aws",
      invokes: fakeEc2(runbook()),
      overrides: explicitTable(),
    });
    expect(invokesOf(result, GET_ROUTE_TABLES)).toEqual([]);
    // controller-0 is in the node list but gets no route, so its instance (source/dest check on) is not read.
    expect(invokesOf(result, GET_INSTANCE).map((l) => (l["filters"] as Filter[])[0])).toEqual(
      [0, 1, 2].map((i) => ({ name: "tag:Name", values: [`worker-${i}`] })),
    );
  });

  it("finds instances by id from aws.instanceIds, still only in the table's VPC", async () => {
    const ids = { "worker-0": instanceId(0), "worker-1": instanceId(1), "worker-2": instanceId(2) };
    const result = await runProgram({
      stack: "aws",
      invokes: fakeEc2(runbook()),
      overrides: explicitTable({ instanceIds: ids }),
    });
    expect(invokesOf(result, GET_INSTANCE)).toEqual(
      [0, 1, 2].map((i) => ({
        instanceId: instanceId(i),
        filters: [{ name: "vpc-id", values: [VPC] }],
        getUserData: true,
      })),
    );
    expect(routesOf(result)).toEqual(runbookRoutes(EXPLICIT_TABLE));
  });

  it("reads the CloudFormation-style exports: the table id and each worker's instance id", async () => {
    const result = await runProgram({
      stack: "aws",
      invokes: fakeEc2(runbook()),
      overrides: cloudFormation(),
      stackReferences: cfnExports(),
    });
    const references = ofType(result, "pulumi:pulumi:StackReference");
    expect(references.map((r) => r.name)).toEqual([CFN_STACK]);
    expect(invokesOf(result, GET_ROUTE_TABLES)).toEqual([]);
    expect(invokesOf(result, GET_INSTANCE).map((l) => l["instanceId"])).toEqual([0, 1, 2].map(instanceId));
  });

  it("finds the workers by Name tag in the referenced table's VPC when the stack exports no instance ids", async () => {
    const result = await runProgram({
      stack: "aws",
      invokes: fakeEc2(runbook()),
      overrides: {
        "pod-routes:aws": {
          stackReference: { name: CFN_STACK, routeTableOutput: "hard-k8s-rtb" },
          discovery: { instances: ["worker-0", "worker-1", "worker-2"] },
        },
      },
      stackReferences: { [CFN_STACK]: { "hard-k8s-rtb": CFN_TABLE } },
    });
    expect(routesOf(result)).toEqual(runbookRoutes(CFN_TABLE));
    expect(invokesOf(result, GET_INSTANCE).map((l) => (l["filters"] as Filter[])[1])).toEqual(
      [0, 1, 2].map(() => ({ name: "vpc-id", values: [VPC] })),
    );
  });

  it("routes IPv6 pod CIDRs with destinationIpv6CidrBlock", async () => {
    const podCidr6 = (i: number) => (i === 0 ? "fd00:10:200::/64" : `fd00:10:200:${i}::/64`);
    const world = runbook();
    world.instances = [0, 1, 2].map((i) => worker(i, { ipv6Addresses: [`2600:1f14:abc:de00::2${i}`] }));
    const result = await runProgram({
      stack: "aws",
      invokes: fakeEc2(world),
      overrides: {
        "pod-routes:aws": { routeTableId: EXPLICIT_TABLE },
        "pod-routes:clusterCidr": ["10.200.0.0/16", "fd00:10:200::/56"],
        "pod-routes:nodes": [0, 1, 2].map((i) => ({
          name: `worker-${i}`,
          ip: `2600:1f14:abc:de00::2${i}`,
          podCidr: podCidr6(i),
        })),
      },
    });
    const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
    expect(routesOf(result).sort(byName)).toEqual(
      [0, 1, 2]
        .map((i) => ({
          name: `pod-routes-${podCidr6(i).replace(/[:/]/g, "-")}`,
          inputs: {
            routeTableId: EXPLICIT_TABLE,
            networkInterfaceId: eni(i),
            destinationIpv6CidrBlock: podCidr6(i),
          },
        }))
        .sort(byName),
    );
    expect(ofType(result, ROUTE).map((r) => r.options.deleteBeforeReplace)).toEqual([true, true, true]);
  });
});

const routes = (count: number, family: 4 | 6 = 4) =>
  Array.from({ length: count }, (_, i) =>
    family === 4
      ? { cidrBlock: `172.16.${i}.0/24` }
      : { ipv6CidrBlock: `2600:1f14:abc:${i.toString(16)}::/64` },
  );

describe("AWS preflight: a clear error, and no route registered", () => {
  it.each<
    [string, (w: World) => void, Record<string, unknown>, Record<string, Record<string, unknown>>, string[]]
  >([
    [
      "no route table has the cluster tag",
      (w) => (w.tables[TAGGED_TABLE]!.tags = []),
      {},
      {},
      [
        `pod-routes:aws.clusterName: no route table has the tag ${CLUSTER_TAG}`,
        `aws ec2 create-tags --resources rtb-… --tags Key=${CLUSTER_TAG},Value=shared`,
        "or set pod-routes:aws.routeTableId",
      ],
    ],
    [
      "two route tables have the cluster tag",
      (w) => w.tables[EXPLICIT_TABLE]!.tags.push(CLUSTER_TAG),
      {},
      {},
      [
        `pod-routes:aws.clusterName: 2 route tables have the tag ${CLUSTER_TAG} (${TAGGED_TABLE}, ${EXPLICIT_TABLE})`,
        "set pod-routes:aws.routeTableId (or pod-routes:aws.vpcId) to pick one",
      ],
    ],
    [
      "a worker with source/destination check on",
      (w) => (w.instances[1] = worker(1, { sourceDestCheck: true })),
      {},
      {},
      [
        `aws instance "worker-1" (${instanceId(1)}): has source/destination check on`,
        `\`aws ec2 modify-instance-attribute --instance-id ${instanceId(1)} --no-source-dest-check\``,
      ],
    ],
    [
      "a worker without user data",
      (w) => (w.instances[2] = worker(2, { userDataBase64: "", userData: "" })),
      {},
      {},
      [
        `aws instance "worker-2" (${instanceId(2)}): it has no user data; launch it with user data "name=worker-2|pod-cidr=10.200.N.0/24"`,
      ],
    ],
    [
      "user data without a pod-cidr field",
      (w) => (w.instances[2] = worker(2, { userDataBase64: base64("name=worker-2") })),
      {},
      {},
      [`aws instance "worker-2" (${instanceId(2)}): its user data has no pod-cidr field`],
    ],
    [
      "only the user data's hash coming back",
      (w) => (w.instances[2] = worker(2, { userDataBase64: "" })),
      {},
      {},
      [`aws instance "worker-2" (${instanceId(2)}): its user data did not come back (only its SHA-1 hash)`],
    ],
    [
      "a pod-cidr with host bits set",
      (w) => (w.instances[2] = worker(2, { userDataBase64: base64("name=worker-2|pod-cidr=10.200.2.5/24") })),
      {},
      {},
      [
        `aws instance "worker-2" (${instanceId(2)}): node "worker-2": podCidr "10.200.2.5/24" has host bits set (it is not the network address); use "10.200.2.0/24"`,
      ],
    ],
    [
      "a pod-cidr that is not a CIDR",
      (w) => (w.instances[0] = worker(0, { userDataBase64: base64("name=worker-0|pod-cidr=10.200.0.0") })),
      {},
      {},
      [
        `aws instance "worker-0" (${instanceId(0)}): node "worker-0": podCidr "10.200.0.0" has no prefix length`,
      ],
    ],
    [
      "a pod-cidr outside the cluster CIDR",
      (w) => (w.instances[0] = worker(0, { userDataBase64: base64("name=worker-0|pod-cidr=10.201.0.0/24") })),
      {},
      {},
      [
        `aws instance "worker-0" (${instanceId(0)}): node "worker-0": podCidr 10.201.0.0/24 is outside the cluster CIDR 10.200.0.0/16`,
      ],
    ],
    [
      "a worker that only exists in another VPC",
      (w) =>
        (w.instances = w.instances
          .filter((i) => i.id !== instanceId(2))
          .concat(worker(2, { vpcId: OTHER_VPC }))),
      {},
      {},
      [
        `aws instance "worker-2": cannot be found by its Name tag in ${VPC}, the route table's VPC`,
        "make sure exactly one live instance there has the tag Name=worker-2",
      ],
    ],
    [
      "two live instances with the same Name tag",
      (w) => w.instances.push(worker(2, { id: "i-0twin000000000000" })),
      {},
      {},
      [`aws instance "worker-2": cannot be found by its Name tag in ${VPC}, the route table's VPC`],
    ],
    [
      "a table at its route limit (48 routes + 3 new > 50)",
      (w) => (w.tables[TAGGED_TABLE]!.routes = routes(48)),
      {},
      {},
      [
        `pod-routes:aws.routeLimit: route table ${TAGGED_TABLE} has 48 other IPv4 routes; adding 3 makes 51, over its limit of 50`,
        'Ask AWS for a higher "Routes per route table" quota and raise pod-routes:aws.routeLimit',
      ],
    ],
    [
      "a lowered routeLimit",
      () => undefined,
      {
        "pod-routes:aws": {
          clusterName: "kubernetes-the-hard-way",
          routeLimit: 3,
          discovery: { instances: ["worker-0", "worker-1", "worker-2"] },
        },
      },
      {},
      [`route table ${TAGGED_TABLE} has 1 other IPv4 routes; adding 3 makes 4, over its limit of 3`],
    ],
    [
      "a node list whose IPs are not the instances'",
      () => undefined,
      {
        "pod-routes:aws": { routeTableId: EXPLICIT_TABLE },
        "pod-routes:nodes": explicitNodes((i) => `10.240.0.3${i}`),
      },
      {},
      [
        `aws instance "worker-0" (${instanceId(0)}): has private IP 10.240.0.20 but pod-routes:nodes gives "10.240.0.30" for node "worker-0"`,
        `aws instance "worker-2" (${instanceId(2)}): has private IP 10.240.0.22 but pod-routes:nodes gives "10.240.0.32"`,
      ],
    ],
    [
      "an explicit route table that does not exist",
      () => undefined,
      explicitTable({ routeTableId: "rtb-0123456789abcdef0" }),
      {},
      ["pod-routes:aws.routeTableId: route table rtb-0123456789abcdef0 cannot be read"],
    ],
    [
      "a route table in another VPC than aws.vpcId",
      () => undefined,
      explicitTable({ vpcId: OTHER_VPC }),
      {},
      [`pod-routes:aws.vpcId: is ${OTHER_VPC}, but route table ${EXPLICIT_TABLE} is in ${VPC}`],
    ],
    [
      "an instance id outside the table's VPC",
      () => undefined,
      explicitTable({ instanceIds: { "worker-0": "i-0d0c0000000000000" } }),
      {},
      [
        `aws instance "worker-0" (i-0d0c0000000000000): cannot be read in ${VPC}, the route table's VPC`,
        "check the id in pod-routes:aws.instanceIds.worker-0",
      ],
    ],
    [
      "an instance id for a node that does not exist",
      () => undefined,
      explicitTable({ instanceIds: { "worker-9": "i-09aaaabbbbcccc0009" } }),
      {},
      [
        'pod-routes:aws.instanceIds.worker-9: names "worker-9", which is not a node (controller-0, worker-0, worker-1, worker-2)',
      ],
    ],
    [
      "a referenced stack without the table output",
      () => undefined,
      cloudFormation(),
      cfnExports({ "hard-k8s-rtb": undefined }),
      [
        `pod-routes:aws.stackReference.routeTableOutput: output "hard-k8s-rtb" of stack ${CFN_STACK} is not a route table id (got no such output)`,
      ],
    ],
    [
      "a referenced instance output that is not an instance id",
      () => undefined,
      cloudFormation(),
      cfnExports({ "hard-k8s-worker-1": "worker-1" }),
      [
        `pod-routes:aws.stackReference.instanceOutputs.worker-1: output "hard-k8s-worker-1" of stack ${CFN_STACK} is not an instance id (got "worker-1")`,
      ],
    ],
  ])("%s", async (_label, breakIt, overrides, stackReferences, expected) => {
    const world = runbook();
    breakIt(world);
    const failure = await runProgramExpectingFailure({
      stack: "aws",
      invokes: fakeEc2(world),
      overrides,
      stackReferences,
    });
    expect(failure.message).toContain("nothing was created or changed");
    for (const text of expected) expect(failure.message).toContain(text);
    expect(ofType(failure.result, ROUTE)).toEqual([]);
    expect(created(failure.result)).toEqual([]);
  });

  it("collects every problem into one error, checking the limit with the pod CIDRs it could read", async () => {
    const world = runbook();
    world.instances[0] = worker(0, { sourceDestCheck: true });
    world.instances[1] = worker(1, { userDataBase64: "", userData: "" });
    world.instances[2] = worker(2, { userDataBase64: base64("pod-cidr=10.200.2.5/24") });
    world.tables[TAGGED_TABLE]!.routes = routes(50);
    const failure = await runProgramExpectingFailure({ stack: "aws", invokes: fakeEc2(world) });
    expect(failure.message).toMatch(/^pod-routes found 4 problems in the route spec; nothing was created/);
    for (const text of [
      `aws instance "worker-0" (${instanceId(0)}): has source/destination check on`,
      `aws instance "worker-1" (${instanceId(1)}): it has no user data`,
      `aws instance "worker-2" (${instanceId(2)}): node "worker-2": podCidr "10.200.2.5/24" has host bits set`,
      `route table ${TAGGED_TABLE} has 50 other IPv4 routes; adding 1 makes 51`,
    ])
      expect(failure.message).toContain(text);
    expect(ofType(failure.result, ROUTE)).toEqual([]);
  });

  it("collects the config's problems with the lookups' (stack outputs, unknown nodes)", async () => {
    const failure = await runProgramExpectingFailure({
      stack: "aws",
      invokes: fakeEc2(runbook()),
      overrides: cloudFormation({ instanceIds: { "worker-7": "i-07aaaabbbbcccc0007" } }),
      stackReferences: cfnExports({ "hard-k8s-rtb": "hard-k8s-rtb", "hard-k8s-worker-0": undefined }),
    });
    expect(failure.message).toMatch(/^pod-routes found 3 problems/);
    expect(failure.message).toContain('output "hard-k8s-rtb" of stack');
    expect(failure.message).toContain('output "hard-k8s-worker-0" of stack');
    expect(failure.message).toContain('pod-routes:aws.instanceIds.worker-7: names "worker-7"');
    // Without a table there is no VPC to look instances up in, so nothing else was asked.
    expect(failure.result.invokes).toEqual([]);
    expect(created(failure.result)).toEqual([]);
  });

  it("accepts a table exactly at its limit, counting a route it re-creates once", async () => {
    const world = runbook();
    world.tables[TAGGED_TABLE]!.routes = [...routes(47), { cidrBlock: "10.200.0.0/24" }];
    const result = await runProgram({ stack: "aws", invokes: fakeEc2(world) });
    expect(routesOf(result)).toEqual(runbookRoutes(TAGGED_TABLE));
  });
});

describe("checkRouteLimit (AWS counts IPv4 and IPv6 routes separately)", () => {
  const table = (destinations: string[]): AwsRouteTableFacts => ({ id: "rtb-0a", vpcId: VPC, destinations });
  const v4 = (n: number) => routes(n, 4).map((r) => r.cidrBlock ?? "");
  const v6 = (n: number) => routes(n, 6).map((r) => r.ipv6CidrBlock ?? "");
  const ours4 = ["10.200.0.0/24", "10.200.1.0/24", "10.200.2.0/24"];
  const ours6 = ["fd00:10:200::/64", "fd00:10:200:1::/64"];

  it.each<[string, string[], string[], number, string[]]>([
    ["room left", v4(10), ours4, 50, []],
    ["one over", v4(48), ours4, 50, ["has 48 other IPv4 routes; adding 3 makes 51, over its limit of 50"]],
    ["exactly full, one destination already there", [...v4(47), "10.200.1.0/24"], ours4, 50, []],
    ["IPv4 full, adding IPv6", v4(50), ours6, 50, []],
    ["IPv6 full", v6(49), ours6, 50, ["has 49 other IPv6 routes; adding 2 makes 51"]],
    ["IPv6 spelled differently still counts once", [...v6(48), "fd00:10:200:0::/64"], ours6, 50, []],
    [
      "a prefix list route counts",
      [...v4(49), "pl-0123456789abcdef0"],
      ["10.200.0.0/24"],
      50,
      ["has 50 other IPv4"],
    ],
    ["a raised limit", v4(120), ours4, 200, []],
  ])("%s", (_label, existing, ours, limit, expected) => {
    const problems = checkRouteLimit(table(existing), ours, limit, setting("aws."));
    expect(problems).toHaveLength(expected.length);
    expected.forEach((text, i) => {
      expect(problems[i]?.where).toBe("pod-routes:aws.routeLimit");
      expect(problems[i]?.message).toContain(text);
    });
  });
});

describe("podCidrFromUserData", () => {
  it.each([
    ["the runbook's plain text", "name=worker-0|pod-cidr=10.200.0.0/24", "10.200.0.0/24"],
    ["the same, base64", base64("name=worker-1|pod-cidr=10.200.1.0/24"), "10.200.1.0/24"],
    ["a script with the field on its own line", "#!/bin/bash\npod-cidr=10.200.2.0/24\n", "10.200.2.0/24"],
    [
      "a base64 script with CRLF lines",
      base64("name=worker-3\r\npod-cidr=10.200.3.0/24\r\n"),
      "10.200.3.0/24",
    ],
    ["a bad value, returned as written for validation to report", "pod-cidr=10.200.2.5/24", "10.200.2.5/24"],
    ["no pod-cidr field", "name=worker-0", undefined],
    ["a field that only ends in pod-cidr", "name=worker-0|my-pod-cidr=10.200.0.0/24", undefined],
    ["nothing", "", undefined],
  ])("%s", (_label, userData, expected) => expect(podCidrFromUserData(userData)).toBe(expected));
});
