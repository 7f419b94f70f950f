// GCP: routes on a VPC network. `plan` is pure (the CLI uses it too); `PodRoutes` creates them.
export * from "./component";
export * from "./plan";
