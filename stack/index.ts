// The stack program's layer: `pod-routes:*` config, discovery, and one component per stack. A consumer of
// the library like any user's program; index.ts runs it.
export * from "./config";
export { asRunError, deployStack } from "./deploy";
export type { StackOutputs } from "./deploy";
export { awsTableLabel, checkSshStack, planStack } from "./stack-plan";
export type { StackInput, StackPlan, StackPlanResult } from "./stack-plan";
export { readMachinesFile, specFromConfig, specFromMachinesTxt } from "./source";
