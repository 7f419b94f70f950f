// AWS: routes in a VPC route table. `plan` and the checks are pure (the CLI uses them too); `PodRoutes`
// creates the routes.
export * from "./component";
export * from "./plan";
