// HostRoutes' provider as a module of its own, whose exports are the provider itself: when pod-routes is an
// installed package, Pulumi serializes a reference to this module (`require("pod-routes/host-routes-provider")`)
// into each resource's state instead of the code (see host-routes.ts).
import { hostRoutesProvider } from "./resource/provider";

export = hostRoutesProvider;
