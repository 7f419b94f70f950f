// Runs the real index.ts under Pulumi's mocks with the config of a Pulumi.<stack>.yaml, and records every
// resource and invoke, so tests assert what the program would ask the engine for. Only Pulumi's documented
// surface: `pulumi.runtime.setMocks` for the engine, `runInPulumiStack` for the program's root stack,
// `registerStackTransformation` to see each resource's args and options as the program gives them, and
// `pulumi.isSecret` / `pulumi.unsecret` for secrets; and, to know when the program is done, the runtime's
// `waitForRPCs` (what the public `disconnect` waits with) and Node's `process.getActiveResourcesInfo`.
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";

export const PROJECT_ROOT = path.resolve(__dirname, "..", "..");

export interface RecordedResource {
  readonly type: string;
  readonly name: string;
  /** The args the program gave, resolved (secrets unwrapped; see `secretInputs`). */
  readonly inputs: Record<string, unknown>;
  /** Top-level args that are secrets. */
  readonly secretInputs: string[];
  readonly id: string;
  /** Resource options as the program gave them. */
  readonly options: RecordedOptions;
}

export interface RecordedAlias {
  readonly name?: string;
  readonly type?: string;
  /** `root` for `{ parent: pulumi.rootStackResource }` (the stack itself); else the parent's name. */
  readonly parent?: string;
}

export interface RecordedOptions {
  readonly deleteBeforeReplace: boolean;
  /** The `import` option's id, or "" when the resource is created rather than adopted. */
  readonly importId: string;
  /** `type::name` of the parent resource, or "" for the stack's top level. */
  readonly parent: string;
  readonly aliases: RecordedAlias[];
  readonly additionalSecretOutputs: string[];
}

export interface RecordedInvoke {
  readonly token: string;
  readonly args: Record<string, unknown>;
}

export type InvokeHandler = (args: Record<string, unknown>) => Record<string, unknown>;

export interface RunOptions {
  /** Stack name: `gcp` reads Pulumi.gcp.yaml. */
  readonly stack: string;
  /** Config keys to add or override, e.g. { "pod-routes:adopt": true }. `undefined` removes a key. */
  readonly overrides?: Record<string, unknown>;
  /** Answers for data-source invokes, by token (e.g. `gcp:compute/getInstance:getInstance`). */
  readonly invokes?: Record<string, InvokeHandler>;
  /** Outputs of StackReferences, by stack name. */
  readonly stackReferences?: Record<string, Record<string, unknown>>;
  /** Config keys to mark secret. */
  readonly secretKeys?: string[];
  /** Run the stack file as shipped, with its EXAMPLE values (by default they are replaced, as a user does). */
  readonly asShipped?: boolean;
  /**
   * What the mocked cloud adds to a resource's state (outputs the program never wrote: assigned addresses,
   * interface ids); an `id` in it is the resource's id.
   */
  readonly newResource?: (args: pulumi.runtime.MockResourceArgs) => Record<string, unknown>;
  /** The program to run; default the repository's index.ts. */
  readonly program?: () => Promise<Record<string, unknown> | void>;
}

export interface RunResult {
  readonly resources: RecordedResource[];
  readonly invokes: RecordedInvoke[];
  readonly outputs: Record<string, unknown>;
}

/** The `config:` map of a stack file, with structured values encoded as Pulumi stores them (JSON text). */
export function stackConfig(stack: string): Record<string, string> {
  const file = path.join(PROJECT_ROOT, `Pulumi.${stack}.yaml`);
  const doc = parse(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> };
  return encodeConfig(doc.config ?? {});
}

export function encodeConfig(config: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(config)) {
    if (value === undefined) continue;
    out[key] = typeof value === "string" ? value : JSON.stringify(value);
  }
  return out;
}

/** Resolves every Output inside a value (arrays and objects too). */
export function settle<T>(value: pulumi.Input<T>): Promise<T> {
  return new Promise((resolve) => pulumi.output(value).apply((v) => resolve(v as T)));
}

interface Seen {
  type: string;
  name: string;
  props: Record<string, unknown>;
  opts: pulumi.CustomResourceOptions;
}

/** What a user sets in place of the shipped stack files' EXAMPLE values (real-looking, for the tests). */
export const USER_VALUES: Record<string, Record<string, unknown>> = {
  gcp: { "gcp:project": "kubernetes-the-hard-way" },
  baremetal: {
    "pod-routes:ssh": {
      user: "root",
      hostKeys: {
        server: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHGqZ1cV2bS1F9o2Wq0r3cXy3S5n1gqj6t0vY0m2uJtQ",
        "node-0": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC7yQ0u4w3x1lYh9Gm6c2dY1f2p8qD4bN0sX5rT9kLmA",
        "node-1": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE3pV8kq0W2nB7cX4yT1uR6sD9fG2hJ5kL8mN1oP4qRs",
      },
    },
  },
};

export async function runProgram(options: RunOptions): Promise<RunResult> {
  const ids = new Map<string, string>();
  const invokes: RecordedInvoke[] = [];
  const config = {
    ...stackConfig(options.stack),
    ...(options.asShipped ? {} : encodeConfig(USER_VALUES[options.stack] ?? {})),
  };
  for (const [key, value] of Object.entries(options.overrides ?? {})) {
    if (value === undefined) delete config[key];
    else config[key] = typeof value === "string" ? value : JSON.stringify(value);
  }
  pulumi.runtime.setAllConfig(config, options.secretKeys);
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        if (args.type === "pulumi:pulumi:StackReference") {
          const outputs = options.stackReferences?.[args.name] ?? {};
          return { id: args.name, state: { name: args.name, outputs, secretOutputNames: [] } };
        }
        const { id: assigned, ...extra } = options.newResource?.(args) ?? {};
        const id = args.id || (typeof assigned === "string" ? assigned : `${args.name}-id`);
        ids.set(`${args.type}::${args.name}`, id);
        return { id, state: { ...args.inputs, ...extra } };
      },
      call(args) {
        invokes.push({ token: args.token, args: args.inputs as Record<string, unknown> });
        const handler = options.invokes?.[args.token];
        if (!handler) throw new Error(`test has no mock for invoke ${args.token}`);
        return handler(args.inputs as Record<string, unknown>);
      },
    },
    "pod-routes",
    options.stack,
    false,
    "organization",
  );
  const baseline = activeResources();
  // The program's own timers, counted exactly: the loop's handle counts alone can hide one (a timer of jest's
  // that ends while the program's is pending leaves the count unchanged).
  const timers = trackTimers();
  const seen: Seen[] = [];
  const nameOf = new Map<pulumi.Resource, string>();
  const program =
    options.program ??
    // index.ts reads its config when called, so one loaded copy serves every run.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded after setMocks, by design
    (require(path.join(PROJECT_ROOT, "index.ts")) as () => Promise<Record<string, unknown>>);
  let failure: Error | undefined;
  // The program's error is caught inside the stack, so that the stack itself completes (as the language
  // host reports a failed program once, rather than as a rejected stack registration).
  const outputs =
    ((await pulumi.runtime.runInPulumiStack(async () => {
      pulumi.runtime.registerStackTransformation((args) => {
        nameOf.set(args.resource, `${args.type}::${args.name}`);
        seen.push({ type: args.type, name: args.name, props: args.props, opts: args.opts as Seen["opts"] });
        return undefined;
      });
      try {
        return await program();
      } catch (error) {
        failure = error as Error;
        return {};
      }
    })) as Record<string, unknown> | undefined) ?? {};
  // The program's work is not over when its function returns: registrations issued from apply callbacks,
  // from timers, from a component's later turns. Wait for it, as the language host does.
  try {
    await settleProgram(baseline, () => seen.length + invokes.length, timers.pending);
  } finally {
    timers.restore();
  }
  const resources = await Promise.all(seen.map((s) => record(s, ids, nameOf)));
  const result = { resources, invokes, outputs: await settle(outputs) };
  if (failure) throw new ProgramFailure(failure, result);
  return result;
}

/** How long a program may keep work outstanding before the harness gives up on it (and fails the test). */
export const SETTLE_LIMIT_MS = 20_000;

// `disconnect()` (public) waits for "the existing RPC queue to drain" with this function, which the runtime
// exports but does not declare: every registration, invoke and registerOutputs the SDK has started, including
// those whose inputs are still pending.
const waitForRPCs = (pulumi.runtime as unknown as { waitForRPCs?: () => Promise<void> }).waitForRPCs;

/**
 * Counts the timers started (and not yet run or cleared) from now until restore(): setTimeout is replaced for
 * the program's run, so its sleeps and delayed registrations are known one by one.
 */
function trackTimers(): { pending: () => number; restore: () => void } {
  const g = globalThis as unknown as {
    setTimeout: (fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => unknown;
    clearTimeout: (handle: unknown) => void;
  };
  const original = { setTimeout: g.setTimeout, clearTimeout: g.clearTimeout };
  const live = new Set<unknown>();
  g.setTimeout = (fn, ms, ...args) => {
    const handle: unknown = original.setTimeout(
      (...a: unknown[]) => {
        live.delete(handle);
        fn(...a);
      },
      ms,
      ...args,
    );
    live.add(handle);
    return handle;
  };
  g.clearTimeout = (handle) => {
    live.delete(handle);
    original.clearTimeout(handle);
  };
  return {
    pending: () => live.size,
    restore: () => {
      g.setTimeout = original.setTimeout;
      g.clearTimeout = original.clearTimeout;
    },
  };
}

/** What keeps the event loop alive, by kind (`Timeout`, `TCPWrap`…), counted. Unref'd handles are not in it. */
function activeResources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  return counts;
}

/** What keeps the event loop alive now that did not when the program started (its timers, sockets…). */
function outstanding(baseline: ReadonlyMap<string, number>): string[] {
  const extra: string[] = [];
  for (const [kind, count] of activeResources()) {
    const more = count - (baseline.get(kind) ?? 0);
    if (more > 0) extra.push(`${more} ${kind}`);
  }
  return extra;
}

/**
 * Returns once the program has nothing left to do: the Node.js language host runs a program until its event
 * loop is empty and then waits for the RPC queue to drain (`disconnect`). Under jest the loop is never empty,
 * so this waits for (a) every RPC the SDK has started and (b) every handle the program added to the loop (a
 * timer that will register a resource, say), over and over until a whole round starts nothing new.
 */
async function settleProgram(
  baseline: ReadonlyMap<string, number>,
  activity: () => number,
  programTimers: () => number,
): Promise<void> {
  if (typeof waitForRPCs !== "function") {
    throw new Error(
      "@pulumi/pulumi no longer has runtime.waitForRPCs; the harness cannot tell when a program is done",
    );
  }
  const deadline = Date.now() + SETTLE_LIMIT_MS;
  for (;;) {
    const before = activity();
    await waitForRPCs();
    // Callbacks the finished RPCs queued (apply callbacks registering more) run before this.
    await new Promise((resolve) => setImmediate(resolve));
    const pending = outstanding(baseline);
    if (programTimers() > 0) pending.push(`${programTimers()} timer(s) of the program`);
    if (pending.length === 0 && activity() === before) {
      await waitForRPCs();
      return;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `the program still has work outstanding after ${SETTLE_LIMIT_MS} ms (${pending.join(", ") || "RPCs"})`,
      );
    }
    if (pending.length > 0) await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

async function record(
  seen: Seen,
  ids: ReadonlyMap<string, string>,
  nameOf: ReadonlyMap<pulumi.Resource, string>,
): Promise<RecordedResource> {
  const secretInputs: string[] = [];
  const inputs: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(seen.props ?? {})) {
    if (value === undefined) continue;
    const output = pulumi.output(value);
    if (await pulumi.isSecret(output)) secretInputs.push(key);
    inputs[key] = await settle(pulumi.unsecret(output));
  }
  const aliases = (seen.opts.aliases ?? []).map((alias): RecordedAlias => {
    if (typeof alias === "string") return { name: alias };
    const spec = alias as pulumi.Alias;
    const hasParent = Object.prototype.hasOwnProperty.call(spec, "parent");
    return {
      ...(typeof spec.name === "string" ? { name: spec.name } : {}),
      ...(typeof spec.type === "string" ? { type: spec.type } : {}),
      ...(hasParent
        ? { parent: spec.parent === undefined ? "root" : (nameOf.get(spec.parent as pulumi.Resource) ?? "?") }
        : {}),
    };
  });
  const parent = seen.opts.parent;
  return {
    type: seen.type,
    name: seen.name,
    inputs,
    secretInputs,
    id: ids.get(`${seen.type}::${seen.name}`) ?? "",
    options: {
      deleteBeforeReplace: seen.opts.deleteBeforeReplace ?? false,
      importId: seen.opts.import ?? "",
      parent: parent ? (nameOf.get(parent) ?? "?") : "",
      aliases,
      additionalSecretOutputs: seen.opts.additionalSecretOutputs ?? [],
    },
  };
}

/** The program threw; `result` holds whatever it had registered before that (which should be nothing). */
export class ProgramFailure extends Error {
  constructor(
    readonly original: Error,
    readonly result: RunResult,
  ) {
    super(original.message);
  }
}

/** Runs a program that must fail; fails the test if it succeeds. */
export async function runProgramExpectingFailure(options: RunOptions): Promise<ProgramFailure> {
  try {
    await runProgram(options);
  } catch (error) {
    if (error instanceof ProgramFailure) return error;
    throw error;
  }
  throw new Error(`the ${options.stack} program succeeded, but this test expected it to fail`);
}

export const ofType = (result: RunResult, type: string) => result.resources.filter((r) => r.type === type);

/** What the program asked the engine to create or manage: every resource but reads of other stacks. */
export const created = (result: RunResult) =>
  result.resources.filter((r) => r.type !== "pulumi:pulumi:StackReference");

/** The runbook's AWS stack with an explicit table and node list, and EC2 answering for its three workers. */
export const awsExplicit = (
  eni = (i: number) => `eni-0${i}ddddeeeeffff000${i}`,
): Pick<RunOptions, "overrides" | "invokes"> => ({
  overrides: {
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
      const name = String((args["filters"] as { values: string[] }[])[0]!.values[0]);
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
