// Run by library.test.ts in a process of its own: `pulumi up` of a user's program whose node IPs are Outputs
// that resolve only once the engine runs, as instances' addresses do, against the lab (argv: the lab dir, and
// "bad" for node-1's IP outside the node network, or "good"). Prints what the update said and what the
// state holds. An inline Automation API program: a value that resolves late, inside the program, is what this
// tests, and no stack config can express that.
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { createEngine } from "../../lab/engine";
import { labHost, requireLabUp } from "../../lab/lab";
import { ssh } from "../../pod-routes";

/** An address known only once the engine has run: as an instance's IP is. */
const later = (ip: string) =>
  pulumi.output(new Promise<string>((resolve) => setTimeout(() => resolve(ip), 10)));

async function main(labDir: string, variant: string): Promise<void> {
  const lab = requireLabUp(labDir, "running the library program");
  const node1 = variant === "bad" ? "198.19.250.136" : "198.19.249.136";
  const engine = await createEngine(
    `library-${variant}`,
    async () => {
      const routes = new ssh.PodRoutes("pod-routes", {
        privateKey: fs.readFileSync(lab.clientKey, "utf8"),
        nodeCidr: "198.19.249.0/24",
        nodes: [
          {
            name: "node-0",
            ip: later("198.19.249.34"),
            podCidr: "10.200.0.0/24",
            hostKey: labHost(lab, "node-0").hostKey,
          },
          {
            name: "node-1",
            ip: later(node1),
            address: "198.19.249.136",
            podCidr: "10.200.1.0/24",
            hostKey: labHost(lab, "node-1").hostKey,
          },
        ],
      });
      return { routes: routes.routes };
    },
    { dir: path.join(labDir, "..", `engine-${variant}`) },
  );
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
  if (variant === "good") await engine.stack.destroy();
  engine.dispose();
  process.stdout.write(JSON.stringify({ message, types }));
}

main(process.argv[2] ?? "", process.argv[3] ?? "").catch((error: unknown) => {
  process.stderr.write(String(error));
  process.exit(1);
});
