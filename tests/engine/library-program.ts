// Run by library.test.ts in a process of its own: `pulumi up` of a program whose node IP, an Output,
// resolves to an address outside the node network. Prints what the update said, and what the state holds.
import * as pulumi from "@pulumi/pulumi";
import { createEngine } from "../../lab/engine";
import { ssh } from "../../pod-routes";

/** An address known only once the engine has run: as an instance's IP is. */
const later = (ip: string) =>
  pulumi.output(new Promise<string>((resolve) => setTimeout(() => resolve(ip), 10)));

async function main(): Promise<void> {
  const engine = await createEngine("library", async () => {
    const routes = new ssh.PodRoutes("pod-routes", {
      privateKey: "not used: nothing is created",
      insecureIgnoreHostKeys: true,
      nodeCidr: "198.19.249.0/24",
      nodes: [
        { name: "node-0", ip: later("198.19.249.34"), podCidr: "10.200.0.0/24" },
        { name: "node-1", ip: later("198.19.250.136"), podCidr: "10.200.1.0/24" },
      ],
    });
    return { routes: routes.routes };
  });
  // The failed Output is the program's error; the engine reports it (as the language host would).
  process.on("unhandledRejection", () => undefined);
  let message = "";
  try {
    await engine.stack.up();
  } catch (error) {
    message = String((error as Error).message);
  }
  const deployment = (await engine.stack.exportStack()).deployment as { resources?: { type: string }[] };
  const types = (deployment.resources ?? []).map((r) => r.type);
  engine.dispose();
  process.stdout.write(JSON.stringify({ message, types }));
}

main().catch((error: unknown) => {
  process.stderr.write(String(error));
  process.exit(1);
});
