// A stand-in for the command provider (`pulumi-resource-command` 1.2.1), for the upgrade test only: earlier
// pod-routes stacks hold `command:remote:Command` resources, and the engine needs their provider to delete
// them on the first `pulumi up` after upgrading. The Go module proxy this project is tested against does
// not serve the real provider, so this one implements the part those resources used, over the same wire
// protocol (the Node SDK's provider server): run `create`/`update` with `stdin`, and `delete`, in one SSH
// session on `connection`, with the pinned host key. It is not shipped and never used outside tests.
"use strict";
const path = require("path");
const root = path.resolve(__dirname, "..", "..", "..");
require("ts-node").register({ transpileOnly: true, project: path.join(root, "tsconfig.json") });
const { main } = require("@pulumi/pulumi/provider");
const { unwrapRpcSecret } = require("@pulumi/pulumi/runtime/rpc");
const { runScript } = require(path.join(root, "ssh", "transport", "session.ts"));

/** The inputs without the wire protocol's secret wrappers. */
function plain(value) {
  const v = unwrapRpcSecret(value);
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

async function run(inputs, command) {
  const { connection, stdin } = plain(inputs);
  const result = await runScript(
    {
      host: connection.host,
      port: connection.port ?? 22,
      user: connection.user ?? "root",
      privateKey: connection.privateKey,
      ...(connection.hostKey ? { hostKey: connection.hostKey } : {}),
    },
    command,
    stdin ?? "",
  );
  if (result.code !== 0) throw new Error(`command failed (${result.code}): ${result.stderr}`);
  return { stdout: result.stdout, stderr: result.stderr };
}

const same = (a, b) => JSON.stringify(plain(a)) === JSON.stringify(plain(b));

main(
  {
    version: "1.2.1",
    async check(_urn, _olds, news) {
      return { inputs: news };
    },
    async diff(_id, _urn, olds, news) {
      const keys = ["connection", "create", "update", "delete", "stdin", "triggers"];
      return { changes: keys.some((k) => !same(olds[k], news[k])) };
    },
    async create(urn, inputs) {
      const out = await run(inputs, plain(inputs).create);
      return { id: `${urn.split("::").pop()}-${Date.now()}`, outs: { ...inputs, ...out } };
    },
    async update(_id, _urn, _olds, news) {
      const out = await run(news, plain(news).update ?? plain(news).create);
      return { outs: { ...news, ...out } };
    },
    async delete(_id, urn, props) {
      if (!plain(props).delete) return;
      const out = await run(props, plain(props).delete);
      // The upgrade test checks that every old delete really ran, and what it said.
      const log = process.env.COMMAND_STANDIN_LOG;
      if (log) require("fs").appendFileSync(log, `${JSON.stringify({ urn, stdout: out.stdout })}\n`);
    },
  },
  process.argv.slice(2),
).catch((error) => {
  process.stderr.write(`${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});
