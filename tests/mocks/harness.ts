// Runs the real index.ts under Pulumi's mocks with the config of a Pulumi.<stack>.yaml, and records
// every resource and invoke, so tests assert what the program would ask the engine for.
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";

export const PROJECT_ROOT = path.resolve(__dirname, "..", "..");

export interface RecordedResource {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, unknown>;
  readonly id: string;
  /** Resource options as the engine receives them. */
  readonly options: RecordedOptions;
}

export interface RecordedOptions {
  readonly deleteBeforeReplace: boolean;
  /** The `import` option's id, or "" when the resource is created rather than adopted. */
  readonly importId: string;
  readonly parent: string;
  readonly replaceOnChanges: string[];
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
}

export interface RunResult {
  readonly resources: RecordedResource[];
  readonly invokes: RecordedInvoke[];
  readonly outputs: Record<string, unknown>;
  /** Raw register-resource requests, for asserting resource options. */
  readonly registrations: pulumi.runtime.MockResourceArgs[];
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

export async function runProgram(options: RunOptions): Promise<RunResult> {
  const resources: RecordedResource[] = [];
  const registrations: pulumi.runtime.MockResourceArgs[] = [];
  const invokes: RecordedInvoke[] = [];
  const config = { ...stackConfig(options.stack) };
  for (const [key, value] of Object.entries(options.overrides ?? {})) {
    if (value === undefined) delete config[key];
    else config[key] = typeof value === "string" ? value : JSON.stringify(value);
  }
  pulumi.runtime.setAllConfig(config, options.secretKeys);
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        registrations.push(args);
        if (args.type === "pulumi:pulumi:StackReference") {
          const outputs = options.stackReferences?.[args.name] ?? {};
          return { id: args.name, state: { name: args.name, outputs, secretOutputNames: [] } };
        }
        const id = `${args.name}-id`;
        resources.push({
          type: args.type,
          name: args.name,
          inputs: args.inputs as Record<string, unknown>,
          id,
          options: recorded.get(`${args.type}::${args.name}`) ?? NO_OPTIONS,
        });
        return { id, state: args.inputs };
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
  );
  const recorded = recordOptions();
  // index.ts reads its config when called, so one loaded copy serves every run (and shares the mocked runtime).
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded after setMocks, by design
  const program = require(path.join(PROJECT_ROOT, "index.ts")) as () => Promise<Record<string, unknown>>;
  const outputs: Record<string, unknown> = {};
  try {
    const exported = await program();
    for (const [key, value] of Object.entries(exported))
      outputs[key] = await settle(value as pulumi.Input<unknown>);
  } catch (error) {
    await new Promise((resolve) => setTimeout(resolve, 0));
    throw new ProgramFailure(error as Error, { resources, invokes, outputs, registrations });
  }
  // Let registrations issued from inside apply callbacks land before the test looks at them.
  await new Promise((resolve) => setTimeout(resolve, 0));
  return { resources, invokes, outputs, registrations };
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

const NO_OPTIONS: RecordedOptions = {
  deleteBeforeReplace: false,
  importId: "",
  parent: "",
  replaceOnChanges: [],
  additionalSecretOutputs: [],
};

/** The fields of a RegisterResourceRequest that carry resource options. */
interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getDeletebeforereplace(): boolean;
  getImportid(): string;
  getReplaceonchangesList(): string[];
  getAdditionalsecretoutputsList(): string[];
}

/**
 * The mocks hand newResource only inputs, so wrap the mock monitor to read each request's options
 * (deleteBeforeReplace, import, …) exactly as the engine would receive them.
 */
function recordOptions(): Map<string, RecordedOptions> {
  const seen = new Map<string, RecordedOptions>();
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource(req: RegisterRequest, callback: unknown): unknown;
  };
  const original = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, callback) => {
    seen.set(`${req.getType()}::${req.getName()}`, {
      deleteBeforeReplace: req.getDeletebeforereplace(),
      importId: req.getImportid(),
      parent: req.getParent(),
      replaceOnChanges: req.getReplaceonchangesList(),
      additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
    });
    return original(req, callback);
  };
  return seen;
}

/** Pulumi's wire marker for a secret value: `{ [SIG_KEY]: SECRET_SIG, value }`. */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** Unwraps a value that the engine would receive as a secret, and says whether it was one. */
export function unsecret(value: unknown): { secret: boolean; value: unknown } {
  if (
    typeof value === "object" &&
    value !== null &&
    (value as Record<string, unknown>)[SIG_KEY] === SECRET_SIG
  ) {
    return { secret: true, value: (value as Record<string, unknown>)["value"] };
  }
  return { secret: false, value };
}

export const ofType = (result: RunResult, type: string) => result.resources.filter((r) => r.type === type);
