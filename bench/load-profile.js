// What loading a TypeScript program costs, as Pulumi's Node.js runtime loads it (ts-node, transpile only):
//   node bench/load-profile.js <tsconfig> <entry.ts>      (in the project's directory)
// Prints one JSON line: ts-node's registration, the entry's whole load, the part of it that was
// @pulumi/pulumi, how many TypeScript files it loaded and how long transpiling them takes (TypeScript's
// transpileModule over the same files again, after the load), and how many modules it loaded in all.
"use strict";
const Module = require("module");
const path = require("path");
const fs = require("fs");

const [tsconfig = "tsconfig.json", entry = "index.ts"] = process.argv.slice(2);
const now = () => Number(process.hrtime.bigint()) / 1e6;

let pulumiMs = 0;
const load = Module._load;
Module._load = function (request, ...rest) {
  const first = request === "@pulumi/pulumi" && pulumiMs === 0;
  const start = first ? now() : 0;
  try {
    return load.call(this, request, ...rest);
  } finally {
    if (first) pulumiMs = now() - start;
  }
};

let t = now();
require("ts-node").register({ transpileOnly: true, project: path.resolve(tsconfig) });
const registerMs = now() - t;
t = now();
require(path.resolve(entry));
const entryMs = now() - t;

const loaded = Object.keys(require.cache);
const tsFiles = loaded.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"));
const ts = require("typescript");
const options = { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true };
const sources = tsFiles.map((f) => [f, fs.readFileSync(f, "utf8")]);
t = now();
for (const [fileName, text] of sources) ts.transpileModule(text, { compilerOptions: options, fileName });
const transpileMs = now() - t;

const round = (x) => Math.round(x);
process.stdout.write(
  `${JSON.stringify({
    registerMs: round(registerMs),
    entryMs: round(entryMs),
    pulumiMs: round(pulumiMs),
    tsFiles: tsFiles.length,
    tsBytes: sources.reduce((n, [, text]) => n + text.length, 0),
    transpileMs: round(transpileMs),
    modules: loaded.length,
  })}\n`,
);
// The entry may have started work (a Pulumi program waits for its engine): stop here.
process.exit(0);
