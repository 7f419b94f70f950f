// HostRoutes: the pod routes of one host as a Pulumi resource of its own (a dynamic provider), so that
// `pulumi preview` shows routes per host, `pulumi refresh` finds drift (a route removed by hand, a foreign
// route in the way, a rebuilt host), and the state holds structured routes, not scripts.
//
// Pulumi stores a dynamic provider's serialized code in every resource's state. Ours is a reference, not the
// code: installed as a package, the provider module itself (serialized as a `require` of it); from a clone
// of the repository, a small shim that loads it by its path relative to the directory holding
// node_modules/@pulumi/pulumi (the same in the program and in the provider process, on any machine the
// project is checked out on). So the state stays small, and provider code changes reach existing resources
// by themselves; `providerVersion` (an input) makes a change in what runs on hosts an update of every host,
// so that each gets the new host program.
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { STACK_IDENTITY_KEY, type HostRoutesInputs } from "./provider";
import { renderHostProgram } from "../host-program/render";

type Provider = pulumi.dynamic.ResourceProvider;

/**
 * From a clone of the repository (the implementation is not under node_modules), the provider the engine
 * deserializes is this shim: it captures one string, the implementation's path relative to the directory
 * that holds node_modules/@pulumi/pulumi, and loads it (TypeScript, through ts-node) when first called.
 */
/* eslint-disable @typescript-eslint/no-require-imports -- the shim runs in the provider process, where `require` is its own */
function shim(implementation: string): Provider {
  let loaded: Provider | undefined;
  const load = (): Provider => {
    if (loaded === undefined) {
      const nodePath = require("path");
      const base = nodePath.resolve(nodePath.dirname(require.resolve("@pulumi/pulumi")), "..", "..", "..");
      const file = nodePath.join(base, implementation);
      if (file.endsWith(".ts")) {
        require("ts-node").register({ transpileOnly: true, project: nodePath.join(base, "tsconfig.json") });
      }
      loaded = require(file) as Provider;
    }
    return loaded;
  };
  return {
    check: (olds, news) => load().check!(olds, news),
    diff: (id, olds, news) => load().diff!(id, olds, news),
    create: (inputs) => load().create(inputs),
    read: (id, props) => load().read!(id, props),
    update: (id, olds, news) => load().update!(id, olds, news),
    delete: (id, props) => load().delete!(id, props),
  };
}

/** The directory holding node_modules/@pulumi/pulumi, as the shim finds it. */
const pulumiBase = () => path.resolve(path.dirname(require.resolve("@pulumi/pulumi")), "..", "..", "..");

let provider: Provider | undefined;
function theProvider(): Provider {
  if (provider === undefined) {
    const file = require.resolve("../provider-module");
    // An installed package: Pulumi serializes the module as `require("pod-routes/host-routes-provider")`.
    provider = file.split(path.sep).includes("node_modules")
      ? (require("../provider-module") as Provider)
      : shim(path.relative(pulumiBase(), file));
  }
  return provider;
}
/* eslint-enable @typescript-eslint/no-require-imports */

let version: string | undefined;
/** The package's version and a digest of the host program: what runs on the hosts. */
export function providerVersion(): string {
  if (version === undefined) {
    let dir = __dirname;
    while (!fs.existsSync(path.join(dir, "package.json"))) dir = path.dirname(dir);
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as { version: string };
    const digest = createHash("sha256").update(renderHostProgram()).digest("hex").slice(0, 12);
    version = `${pkg.version}+${digest}`;
  }
  return version;
}

export type HostRoutesArgs = { readonly [K in keyof HostRoutesInputs]: pulumi.Input<HostRoutesInputs[K]> };

export class HostRoutes extends pulumi.dynamic.Resource {
  /** Digest of the routes and /etc/hosts block last applied. */
  declare readonly applied: pulumi.Output<string>;
  /** What the last refresh found on the host that differs from what was applied (empty: nothing). */
  declare readonly drift: pulumi.Output<string[]>;

  constructor(name: string, args: HostRoutesArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      theProvider(),
      name,
      { ...args, applied: undefined, drift: undefined },
      {
        ...opts,
        // Another address is another machine: its old routes go before the new ones are set up.
        deleteBeforeReplace: true,
        additionalSecretOutputs: ["privateKey"],
      },
      "pod-routes",
      "HostRoutes",
    );
  }
}

/**
 * A random identity of the stack, created once and kept in its state: what tells this stack's hosts from
 * those of a stack of the same organization, project and name elsewhere (every self-managed backend's
 * organization is `organization`). One per stack, at its top level, whatever the number of ssh.PodRoutes.
 */
export class StackIdentity extends pulumi.dynamic.Resource {
  /** 16 hex digits, also the resource's id. */
  declare readonly identity: pulumi.Output<string>;

  constructor(name: string, opts?: pulumi.CustomResourceOptions) {
    super(
      theProvider(),
      name,
      { [STACK_IDENTITY_KEY]: true, identity: undefined },
      opts,
      "pod-routes",
      "StackIdentity",
    );
  }
}

/** The StackIdentity's name in every stack. */
export const STACK_IDENTITY_NAME = "pod-routes-stack-identity";

// Per stack run (the stack resource of the program being run: tests and the Automation API run several
// in one process), and per process even if several copies of this module are loaded.
const IDENTITIES = Symbol.for("pod-routes.stack-identities");
const NO_STACK = {};
type Registry = WeakMap<object, StackIdentity>;

/** This stack's identity: its StackIdentity's output, the resource registered on first use. */
export function stackIdentity(): pulumi.Output<string> {
  const global = globalThis as unknown as Record<symbol, Registry | undefined>;
  const registry = (global[IDENTITIES] ??= new WeakMap());
  const key: object = pulumi.runtime.getStackResource() ?? NO_STACK;
  let identity = registry.get(key);
  if (identity === undefined) {
    identity = new StackIdentity(STACK_IDENTITY_NAME);
    registry.set(key, identity);
  }
  return identity.identity;
}
