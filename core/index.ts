// The pure core of pod-routes: CIDR math, the route spec and its validation, the planner, and the one
// result and problem type. No Pulumi and nothing cloud-specific: every target and the CLI build on it.
export * from "./cidr";
export * from "./machines";
export * from "./routes";
export * from "./problems";
export * from "./rules";
export * from "./types";
export * from "./validate";
