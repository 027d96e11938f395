"""Checks the workflows that use this action against action.yml, which
actionlint cannot do for a remote action (`uses: owner/repo@v1`).

    check_workflows.py ACTION_YML WORKFLOW...

For every step that uses this action (`ecr-fargate-preflight/ecr-fargate-preflight@…`
or `./`):
  - every `with:` key is an input of action.yml, spelled exactly;
  - literal values of the enumerated inputs are values the binary accepts;
  - the job's effective `permissions:` grant what the step needs:
    `id-token: write` to assume a role with OIDC, `pull-requests: write` to
    comment on a pull request;
and for every job: `security-events: write` where it uploads SARIF,
`contents: read` where it checks out, and permissions declared at all.
Prints one line per problem; exits 1 if there is any.
"""

import re
import sys

import yaml

ACTION_PREFIX = "ecr-fargate-preflight/ecr-fargate-preflight@"
# Literal values the binary accepts for the enumerated inputs (see action.yml).
ENUMS = {
    "command": {"check", "audit", "merge"},
    "mode": {"push", "network", "all"},
    "comment": {"on-failure", "always", "never"},
    "fail-on": {"error", "warning", "never"},
    "attestations": {"manifest", "oci-artifact", "none"},
    "format": {"text", "json", "markdown"},
    "dry-run": {"true", "false"},
    "offline": {"true", "false"},
    "push-probe": {"true", "false"},
    "no-cleanup": {"true", "false"},
    "assign-public-ip": {"true", "false"},
    "verbose": {"true", "false"},
}
LEVEL = {"none": 0, "read": 1, "write": 2}


def events(workflow):
    # YAML 1.1 reads the key `on` as the boolean true.
    on = workflow.get("on", workflow.get(True))
    if isinstance(on, str):
        return {on}
    if isinstance(on, list):
        return set(on)
    return set(on or {})


def permissions(workflow, job):
    """The job's effective permissions, or None when nothing is declared
    (the repository default applies, which an example must not rely on)."""
    declared = job.get("permissions", workflow.get("permissions"))
    if declared is None:
        return None
    if declared == "read-all":
        return {"*": 1}
    if declared == "write-all":
        return {"*": 2}
    return {k: LEVEL.get(v, 0) for k, v in (declared or {}).items()}


def grants(perms, scope, level):
    return perms.get(scope, perms.get("*", 0)) >= LEVEL[level]


def main():
    action = yaml.safe_load(open(sys.argv[1]))
    inputs = set(action["inputs"])
    problems = []
    for path in sys.argv[2:]:
        workflow = yaml.safe_load(open(path))
        on = events(workflow)
        pull_request = bool(on & {"pull_request", "pull_request_target"})
        for job_id, job in (workflow.get("jobs") or {}).items():
            where = f"{path}: job {job_id}"
            perms = permissions(workflow, job)
            if perms is None:
                problems.append(f"{where}: no permissions: block (workflow or job); declare what it needs")
                perms = {}
            for n, step in enumerate(job.get("steps") or [], 1):
                uses = step.get("uses", "")
                at = f"{where}, step {step.get('name') or step.get('id') or n}"
                if uses.startswith("actions/checkout@") and not grants(perms, "contents", "read"):
                    problems.append(f"{at}: checks out but lacks contents: read")
                if uses.startswith("github/codeql-action/upload-sarif@") and not grants(perms, "security-events", "write"):
                    problems.append(f"{at}: uploads SARIF but lacks security-events: write")
                if not (uses.startswith(ACTION_PREFIX) or uses == "./"):
                    continue
                if "/examples/workflows/" in "/" + path and uses != ACTION_PREFIX + "v1":
                    problems.append(f"{at}: examples use the action as {ACTION_PREFIX}v1, not {uses}")
                given = step.get("with") or {}
                for key, value in given.items():
                    if key not in inputs:
                        near = [i for i in inputs if i.replace("-", "") == str(key).replace("-", "").replace("_", "")]
                        hint = f" (did you mean {near[0]}?)" if near else ""
                        problems.append(f"{at}: `{key}` is not an input of action.yml{hint}")
                        continue
                    text = str(value).lower() if isinstance(value, bool) else str(value)
                    if key in ENUMS and "${{" not in text and text not in ENUMS[key]:
                        problems.append(f"{at}: {key}: {text!r} is not one of {sorted(ENUMS[key])}")
                offline = str(given.get("offline", "false")).lower() == "true"
                if given.get("role-to-assume") and not offline and not grants(perms, "id-token", "write"):
                    problems.append(f"{at}: assumes a role with OIDC but the job lacks id-token: write")
                comment = str(given.get("comment", action["inputs"]["comment"].get("default")))
                if pull_request and comment != "never" and not (
                    grants(perms, "pull-requests", "write") or grants(perms, "issues", "write")
                ):
                    problems.append(f"{at}: comments on pull requests but lacks pull-requests: write")
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
