#!/usr/bin/env node
// TEST INFRASTRUCTURE ONLY: a stand-in for Pulumi's Node.js language host (`pulumi-language-nodejs`).
//
// Users run the official one, which every Pulumi install ships (https://www.pulumi.com/docs/install/). This
// machine's registries do not serve it, so pod-routes' tests, demo and benchmarks need something in its place
// to run the stack program through the `pulumi` CLI itself (`pulumi preview`, `up`, `refresh`, `destroy`),
// exactly as users type them. scripts/install-pulumi.sh copies this file beside the `pulumi` binary it builds,
// where the engine looks for a language plugin first.
//
// It does what the official host does for a TypeScript or JavaScript program, and nothing more:
//   - started by the engine with the engine's address as its last argument, it serves the LanguageRuntime
//     gRPC service (the stubs @pulumi/pulumi ships) on a free loopback port and prints that port first;
//   - GetPluginInfo: its version; GetRequiredPackages/GetRequiredPlugins: none (pod-routes' programs need no
//     provider plugin; the dynamic provider's shim is found beside `pulumi`);
//   - Run: `node [nodeargs] <@pulumi/pulumi/cmd/run> --monitor … --engine … --organization … --project …
//     --root-directory … --stack … --pwd … [--dry-run] --parallel N <entry point>`, with PULUMI_CONFIG (keys
//     `ns:config:key`), PULUMI_CONFIG_SECRET_KEYS, PULUMI_NODEJS_TYPESCRIPT and PULUMI_NODEJS_TSCONFIG_PATH
//     from the project's runtime options. The entry point is "." when Pulumi.yaml has no `main`, so that
//     run.js applies package.json's `exports`/`main` as it does under the official host. Exit status 32 means
//     the program already reported its error (the engine then prints nothing more).
// Everything else (Handshake, InstallDependencies, About, …) answers UNIMPLEMENTED, which the engine tolerates.
"use strict";
const { spawn } = require("child_process");
const fs = require("fs");
const { createRequire } = require("module");
const path = require("path");

const VERSION = "3.259.0-pod-routes-test-standin";
/** run.js's exit status for "the program already reported its error" (cmd/run/index.js). */
const EXITED_AFTER_REPORTING = 32;

// The engine starts language plugins in the project directory; @pulumi/pulumi (and its gRPC runtime) are
// resolved from there, as the official host resolves run.js from the program's node_modules.
const fromProject = createRequire(path.join(process.cwd(), "package.json"));
const grpc = fromProject("@grpc/grpc-js");
const services = fromProject("@pulumi/pulumi/proto/language_grpc_pb");
const messages = fromProject("@pulumi/pulumi/proto/language_pb");
const pluginMessages = fromProject("@pulumi/pulumi/proto/plugin_pb");

const engineAddress = process.argv[process.argv.length - 1] ?? "";

/** The project's runtime options (Pulumi.yaml `runtime.options`), as the engine hands them over. */
function runtimeOptions(info) {
  const options = info?.getOptions()?.toJavaScript() ?? {};
  return {
    typescript: options.typescript === undefined ? true : options.typescript === true,
    tsconfig: typeof options.tsconfig === "string" ? options.tsconfig : undefined,
    nodeargs: typeof options.nodeargs === "string" ? options.nodeargs.split(/\s+/).filter(Boolean) : [],
  };
}

function run(call, callback) {
  const req = call.request;
  const info = req.getInfo();
  const options = runtimeOptions(info);
  const programDirectory = info?.getProgramDirectory() || req.getPwd();
  const entryPoint = info?.getEntryPoint() || ".";
  const runPath = createRequire(path.join(programDirectory, "package.json")).resolve(
    "@pulumi/pulumi/cmd/run",
  );

  const args = [...options.nodeargs, runPath];
  const flag = (name, value) => {
    if (value !== undefined && value !== "") args.push(`--${name}`, String(value));
  };
  flag("monitor", req.getMonitorAddress());
  flag("engine", engineAddress);
  flag("organization", req.getOrganization());
  flag("project", req.getProject());
  flag("root-directory", info?.getRootDirectory());
  flag("stack", req.getStack());
  flag("pwd", req.getPwd());
  if (req.getDryrun()) args.push("--dry-run");
  flag("parallel", req.getParallel());
  args.push(entryPoint === "." ? "." : path.join(programDirectory, entryPoint));
  args.push(...req.getArgsList());

  const config = {};
  req.getConfigMap().forEach((value, key) => {
    const colon = key.indexOf(":");
    config[colon > 0 ? `${key.slice(0, colon)}:config:${key.slice(colon + 1)}` : key] = value;
  });
  const env = {
    ...process.env,
    PULUMI_CONFIG: JSON.stringify(config),
    PULUMI_CONFIG_SECRET_KEYS: JSON.stringify(req.getConfigsecretkeysList()),
    PULUMI_NODEJS_TYPESCRIPT: String(options.typescript),
  };
  if (options.tsconfig !== undefined) env.PULUMI_NODEJS_TSCONFIG_PATH = options.tsconfig;

  const child = spawn(process.execPath, args, {
    cwd: req.getPwd() || programDirectory,
    env,
    stdio: "inherit",
  });
  child.on("error", (error) => {
    const response = new messages.RunResponse();
    response.setError(`could not run the program: ${error.message}`);
    callback(null, response);
  });
  child.on("exit", (code, signal) => {
    const response = new messages.RunResponse();
    if (code === EXITED_AFTER_REPORTING) response.setBail(true);
    else if (code !== 0) response.setError(`Program exited with non-zero exit code: ${code ?? signal}`);
    callback(null, response);
  });
}

const server = new grpc.Server({ "grpc.max_receive_message_length": 400 * 1024 * 1024 });
server.addService(services.LanguageRuntimeService, {
  getPluginInfo(_call, callback) {
    const info = new pluginMessages.PluginInfo();
    info.setVersion(VERSION);
    callback(null, info);
  },
  getRequiredPackages(_call, callback) {
    callback(null, new messages.GetRequiredPackagesResponse());
  },
  getRequiredPlugins(_call, callback) {
    callback(null, new messages.GetRequiredPluginsResponse());
  },
  run,
});
server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, port) => {
  if (error) {
    process.stderr.write(`pulumi-language-nodejs (test stand-in): could not listen: ${error.message}\n`);
    process.exit(1);
  }
  fs.writeSync(1, `${port}\n`);
});
