// Reads the `pod-routes:` stack config from the Pulumi runtime and checks it against the schema.
import * as pulumi from "@pulumi/pulumi";
import { decodeConfigValue, NAMESPACE, parseStackConfig, StackConfig } from "../spec/config";
import { SpecError } from "../spec/validate";

/** Every `pod-routes:*` key with its decoded value, secrets left out. Throws a SpecError listing every problem. */
export function readStackConfig(): StackConfig {
  const raw: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(pulumi.runtime.allConfig())) {
    if (key.startsWith(`${NAMESPACE}:`)) raw[key.slice(NAMESPACE.length + 1)] = decodeConfigValue(value);
  }
  const parsed = parseStackConfig(raw);
  if (!parsed.ok) throw new SpecError(parsed.problems, "the stack config");
  return parsed.value;
}

/** Turns our validation errors into clean engine errors (no stack trace): the message is the whole story. */
export function asRunError(error: unknown): unknown {
  return error instanceof SpecError ? new pulumi.RunError(error.message) : error;
}
