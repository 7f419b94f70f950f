// Run by baremetal.test.ts in a process of its own: `pulumi up --continue-on-error` of the repository's stack
// program in an existing workspace (argv: its directory, the stack). With a host down, the engine goes on
// with the others and the failed host's registration fails inside the program, as it does under the
// language host, which reports it once; this process does the same. Prints what the update said.
import * as path from "path";
import { createEngine } from "../../lab/engine";
import { PROJECT_ROOT } from "../fixtures";

async function main(dir: string, stackName: string): Promise<void> {
  const program = async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the stack program, as the engine runs it
    const stackProgram = require(path.join(PROJECT_ROOT, "index.ts")) as () => Promise<
      Record<string, unknown>
    >;
    return stackProgram();
  };
  process.on("unhandledRejection", () => undefined);
  const engine = await createEngine(stackName, program, { dir });
  let message = "";
  try {
    await engine.stack.up({ continueOnError: true });
  } catch (error) {
    message = String((error as Error).message);
  }
  process.stdout.write(JSON.stringify({ message }));
}

main(process.argv[2] ?? "", process.argv[3] ?? "").catch((error: unknown) => {
  process.stderr.write(String(error));
  process.exit(1);
});
