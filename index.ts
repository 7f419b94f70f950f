// pod-routes: a route from every node to every other node's pod subnet, on the cloud the stack names.
import * as pulumi from "@pulumi/pulumi";
import { providers } from "./providers/registry";
import { asRunError, readStackConfig } from "./providers/stack";

export = async () => {
  try {
    const config = readStackConfig();
    const sshPrivateKey = new pulumi.Config("pod-routes").getSecret("sshPrivateKey");
    const routes = await providers[config.cloud].deploy({
      config,
      baseDir: __dirname,
      ...(sshPrivateKey !== undefined ? { sshPrivateKey } : {}),
    });
    return { cloud: config.cloud, routes };
  } catch (error) {
    throw asRunError(error);
  }
};
