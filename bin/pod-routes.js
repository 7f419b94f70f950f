#!/usr/bin/env node
// `pod-routes` (npx pod-routes …): the offline CLI. An installed package runs its compiled JavaScript; a
// clone of the repository runs the TypeScript source (ts-node is one of its dev dependencies), so that
// what runs is always what is checked out, with no build step and no npm banner in the output.
"use strict";
const fs = require("fs");
const path = require("path");

const source = path.join(__dirname, "..", "cli", "routes.ts");
let cli;
if (fs.existsSync(source)) {
  require("ts-node").register({ transpileOnly: true, project: path.join(__dirname, "..", "tsconfig.json") });
  cli = require(source);
} else {
  cli = require(path.join(__dirname, "..", "dist", "cli", "routes.js"));
}
cli.main(process.argv.slice(2));
