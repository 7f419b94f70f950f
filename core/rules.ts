// The rules a value must follow wherever it is checked (the spec, the stack config, the components, the host
// program's renderer): each written once, here, so the layers cannot drift apart.

/** One label of an RFC 1123 name: lowercase letters, digits and "-", starting and ending with a letter or digit. */
const RFC1123_LABEL = "[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?";
const RFC1123_SUBDOMAIN = new RegExp(`^${RFC1123_LABEL}(\\.${RFC1123_LABEL})*$`);

/** RFC 1123 subdomain, lowercase: what Kubernetes accepts as a node name. Also keeps names shell-safe. */
export function isRfc1123Name(name: string): boolean {
  return typeof name === "string" && name.length <= 253 && RFC1123_SUBDOMAIN.test(name);
}

export const RFC1123_RULE = `lowercase letters, digits, "-" and "."; starting and ending with a letter or digit`;

/** A systemd time span pod-routes accepts for the resync timer: a whole number of seconds, minutes or hours. */
const SYSTEMD_SPAN = /^[1-9][0-9]{0,5}(s|min|h)$/;

export function isResyncInterval(value: string): boolean {
  return typeof value === "string" && SYSTEMD_SPAN.test(value);
}

export const RESYNC_INTERVAL_RULE = `a systemd time span like "15min", "30s" or "1h"`;
