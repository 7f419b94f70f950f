// The pod-routes stack program (`pulumi up` in this repository): reads `pod-routes:*` config and runs the
// library's component for the stack's cloud. See stack/ for how, and pod-routes.ts for the library itself.
import { asRunError, deployStack } from "./stack";

export = async () => {
  try {
    return await deployStack({ baseDir: __dirname });
  } catch (error) {
    throw asRunError(error);
  }
};
