"""Reading a job.json for `POST /v1/jobs` (the shape of dtle's example, docs/reference/dtle.md §7)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Union

__all__ = ["SpecError", "load_spec", "without_token_ids"]

# Set by Nomad 1.1 on every job registered under ACLs: the accessor of the registering token. Not a secret
# by itself, but it names a credential, means nothing to re-register (Nomad sets it again from the token
# that sends the job) and would point at whoever ran the deploy: kept out of backups and the spec view.
TOKEN_ID_KEYS = ("NomadTokenID",)


class SpecError(Exception):
    """A job.json that cannot be sent; the message is shown verbatim (with line and column)."""


def load_spec(source: Union[str, Path, dict]) -> dict:
    """{"Job": {...}} from a job.json path (~ expanded) or a dict, as dtle's example has it
    (docs/reference/dtle.md §7)."""
    if isinstance(source, dict):
        data: Any = copy.deepcopy(source)
        where = "the job spec"
    else:
        path = Path(str(source).strip()).expanduser()
        where = str(path)
        if path.suffix.lower() in (".hcl", ".nomad"):
            raise SpecError(f"{where} is HCL; this needs JSON (nomad job run -output {path.name} > job.json)")
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise SpecError(f"cannot read {where}: {getattr(exc, 'strerror', None) or exc}") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SpecError(f"invalid JSON in {where}: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if not isinstance(data, dict):
        raise SpecError(f"{where} must be a JSON object like {{\"Job\": {{...}}}}")
    # Go decodes keys case-insensitively (docs/reference/nomad-api.md §1): "job" is the wrapper too.
    wrapper = next((k for k, v in data.items() if k.lower() == "job" and isinstance(v, dict)), None)
    job = data[wrapper] if wrapper else data
    if wrapper is None and not any(k.lower() == "taskgroups" for k in data):
        raise SpecError(f"{where} has no \"Job\" object")
    job_id = next((v for k, v in job.items() if k.lower() == "id"), None)
    if not isinstance(job_id, str) or not job_id:
        raise SpecError(f"{where}: Job.ID is missing or empty")
    job = dict(job)
    for k in [k for k in job if k.lower() == "id" and k != "ID"]:
        job.pop(k)
    job["ID"] = job_id
    rest = {k: v for k, v in data.items() if k != wrapper} if wrapper else {}
    return {**rest, "Job": job}


def without_token_ids(job: Any) -> Any:
    """A copy of the job (or of {"Job": job}) without NomadTokenID; anything else is returned as is."""
    if not isinstance(job, dict):
        return job
    wrapped = job.get("Job")
    if isinstance(wrapped, dict):
        return {**job, "Job": without_token_ids(wrapped)}
    return {k: v for k, v in job.items() if k not in TOKEN_ID_KEYS}
