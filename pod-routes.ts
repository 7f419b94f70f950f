// The pod-routes package: `require("pod-routes")`. One route spec, rendered per target:
//   gcp.PodRoutes   gcp.compute.Route per worker on a VPC network
//   aws.PodRoutes   aws.ec2.Route per worker in a route table, target = the worker's network interface
//   ssh.PodRoutes   every host's routes installed over SSH (bare metal, Linode)
// `core` is the pure part (CIDR math, validation, the planner) that all of them and the CLI share.
export * as aws from "./aws";
export * as core from "./core";
export * as gcp from "./gcp";
export * as ssh from "./ssh";
export * as stack from "./stack";
