// The small interface every cloud module implements.
import * as pulumi from "@pulumi/pulumi";
import { CloudName, StackConfig } from "../spec/config";
import { PlannedRoute } from "../spec/types";

export interface DeployContext {
  readonly config: StackConfig;
  /** Project root: relative paths in config (machinesFile) resolve against it. */
  readonly baseDir: string;
  /** The SSH private key (`pod-routes:sshPrivateKey`), kept secret; SSH providers only. */
  readonly sshPrivateKey?: pulumi.Output<string>;
}

/** One row of the `routes` stack output, shaped like the runbooks' verification table. */
export type RouteRow = Pick<PlannedRoute, "destination" | "nextHop" | "node" | "where">;

export interface RouteProvider {
  readonly cloud: CloudName;
  /**
   * Reads or discovers the nodes, validates everything (throwing a SpecError that lists every problem
   * before any resource exists), then registers the resources. Returns the route table.
   */
  deploy(context: DeployContext): Promise<RouteRow[]>;
}

export const toRows = (routes: readonly PlannedRoute[]): RouteRow[] =>
  routes.map(({ destination, nextHop, node, where }) => ({ destination, nextHop, node, where }));
