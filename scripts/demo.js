#!/usr/bin/env node
// `npm run demo [down]`: checks how it was called (the action, root) before anything else, then runs the demo
// itself (scripts/demo.ts). Plain JavaScript that needs nothing but Node, so that a mistyped action or a run
// without root gets its one-line answer even where the rest of the checkout cannot be read.
"use strict";

const USAGE =
  "usage: npm run demo            build the lab and deploy the bare-metal stack to it with pulumi\n" +
  "       npm run demo -- down    destroy the stack and remove the lab";

function main(args) {
  const action = args[0] ?? "up";
  if (!["up", "down"].includes(action) || args.length > 1) {
    process.stderr.write(`demo: unknown action ${JSON.stringify(args.join(" "))}\n${USAGE}\n`);
    return 2;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write(
      "demo: the lab builds network namespaces and mounts, which needs root: run `sudo npm run demo` (after `sudo bash scripts/setup.sh`)\n",
    );
    return 1;
  }
  require("ts-node").register({
    transpileOnly: true,
    project: require("path").join(__dirname, "..", "tsconfig.json"),
  });
  require("./demo.ts")
    .demo(action)
    .then(
      (code) => (process.exitCode = code),
      (error) => {
        // The engine's and the lab's errors say what went wrong; a stack trace adds nothing for a demo.
        process.stderr.write(`demo: ${error instanceof Error ? error.message : String(error)}\n`);
        process.exitCode = 1;
      },
    );
  return undefined;
}

const code = main(process.argv.slice(2));
if (code !== undefined) process.exitCode = code;
