// The users' GitHub Actions workflow: linted by actionlint, and shaped as the README promises.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { tool } from "../../lab/tools";

const ROOT = path.resolve(__dirname, "..", "..");
const WORKFLOW = path.join(ROOT, ".github", "workflows", "pulumi.yml");
const actionlint = () => tool("actionlint", ["-version"]);

interface Job {
  if?: string;
  needs?: string;
  strategy?: { matrix?: { stack?: string[] } };
  steps: { uses?: string; run?: string; with?: Record<string, unknown> }[];
}

describe("the GitHub Actions workflow", () => {
  it("passes actionlint", () => {
    const result = spawnSync(actionlint(), ["-no-color", WORKFLOW], { encoding: "utf8" });
    expect(result.stdout + result.stderr).toBe("");
    expect(result.status).toBe(0);
  });

  const workflow = parse(fs.readFileSync(WORKFLOW, "utf8")) as { jobs: Record<string, Job> };
  const stacks = fs
    .readdirSync(ROOT)
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined && s !== "lab")
    .sort();

  it.each([
    ["preview", "github.event_name == 'pull_request'", "preview"],
    ["up", "github.event_name == 'push' && github.ref == 'refs/heads/main'", "up"],
  ])("%s runs %s for every stack file, after the tests", (job, condition, command) => {
    const spec = workflow.jobs[job]!;
    expect(spec.if).toBe(condition);
    expect(spec.needs).toBe("test");
    expect([...(spec.strategy?.matrix?.stack ?? [])].sort()).toEqual(stacks);
    const pulumi = spec.steps.find((s) => s.uses?.startsWith("pulumi/actions@"));
    expect(pulumi?.with?.["command"]).toBe(command);
  });
});
