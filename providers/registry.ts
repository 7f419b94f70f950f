// One module per cloud, each with the same small interface.
import { CloudName } from "../spec/config";
import { awsProvider } from "./aws";
import { baremetalProvider } from "./baremetal";
import { gcpProvider } from "./gcp";
import { linodeProvider } from "./linode";
import { RouteProvider } from "./types";

export const providers: Record<CloudName, RouteProvider> = {
  gcp: gcpProvider,
  aws: awsProvider,
  linode: linodeProvider,
  baremetal: baremetalProvider,
};
