// The SSH path (bare metal, Linode): `plan` and the checks are pure (the CLI uses them too); `PodRoutes`
// installs every host's routes over SSH.
export * from "./component";
export * from "./plan";
