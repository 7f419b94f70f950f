// TEST INFRASTRUCTURE: counts the SSH sessions pod-routes opens, from outside its code. The tests and the
// benchmarks load this file into every Node process the engine starts (NODE_OPTIONS=--require, see
// lab/pulumi-cli.ts), so that the dynamic provider, which runs in a process of Pulumi's, appends one line per
// ssh2 connection to the file POD_ROUTES_SSH_LOG names: `<time> <user>@<host>:<port>`. A test in the same
// process calls countSessions(require("ssh2"), file) instead.
"use strict";
const fs = require("fs");
const Module = require("module");

const PATCHED = Symbol.for("pod-routes.ssh-session-log");

/** Makes every `new ssh2.Client().connect(…)` of this ssh2 module append a line to `file`. */
function countSessions(ssh2, file) {
  const proto = ssh2 && ssh2.Client && ssh2.Client.prototype;
  if (!proto || proto[PATCHED]) return;
  const connect = proto.connect;
  proto.connect = function (config, ...rest) {
    const c = config || {};
    const host = String(c.host).includes(":") ? `[${c.host}]` : c.host;
    // One write(2) with O_APPEND: lines of concurrent processes stay whole.
    fs.appendFileSync(file, `${new Date().toISOString()} ${c.username}@${host}:${c.port}\n`);
    return connect.call(this, config, ...rest);
  };
  proto[PATCHED] = true;
}

const file = process.env.POD_ROUTES_SSH_LOG;
if (file) {
  // Whichever copy of ssh2 a process loads (the checkout's, or an installed package's).
  const load = Module._load;
  Module._load = function (request, ...rest) {
    const exported = load.call(this, request, ...rest);
    if (request === "ssh2") countSessions(exported, file);
    return exported;
  };
}

module.exports = { countSessions };
