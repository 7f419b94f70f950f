// The harness itself: it must see everything a program registers, however late, before a test looks.
import * as pulumi from "@pulumi/pulumi";
import { runProgram } from "./harness";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

class LateChild extends pulumi.CustomResource {
  constructor(name: string, props: pulumi.Inputs, opts?: pulumi.CustomResourceOptions) {
    super("test:index:LateChild", name, props, opts);
  }
}

/** A component whose child is registered on a later turn of the event loop, `delay` ms after it. */
class LateParent extends pulumi.ComponentResource {
  constructor(name: string, delay: number) {
    super("test:index:LateParent", name, {}, {});
    setTimeout(() => {
      new LateChild(`${name}-child`, { delay }, { parent: this });
    }, delay);
    this.registerOutputs({});
  }
}

describe("the mocks harness", () => {
  it("issue 18 item 10: the harness waits for outstanding registrations, not a fixed delay", async () => {
    // The old harness waited 10 ms after the stack and missed both children.
    const result = await runProgram({
      stack: "gcp",
      program: async () => {
        new LateParent("timer", 50);
        // A registration from an apply on a value nothing else waits for.
        pulumi.output(sleep(60).then(() => "x")).apply((value) => new LateChild("apply-child", { value }));
      },
    });
    expect(result.resources.map((r) => [r.type, r.name, r.options.parent])).toEqual([
      ["test:index:LateParent", "timer", ""],
      ["test:index:LateChild", "timer-child", "test:index:LateParent::timer"],
      ["test:index:LateChild", "apply-child", ""],
    ]);
    expect(result.resources[1]?.inputs).toEqual({ delay: 50 });
    expect(result.resources[2]?.inputs).toEqual({ value: "x" });
  });
});
