"""schemathesis hooks for scripts/contract (SCHEMATHESIS_HOOKS).

A schedule's `jitter` must be at most its `every`: the server answers 422 otherwise, as
the document says. That is a rule between two properties, which JSON Schema cannot state,
so a schema-valid body can break it. Only that failure is dropped: `positive_data_acceptance`
on `PUT /credential/{id}/schedule`, whose body has a jitter longer than its interval, and
whose 422 names that rule. Everything else about `every` and `jitter` (units, ranges, the
shortest interval) is in the served document and checked as usual.
"""

import json
import re

import schemathesis

SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def seconds(value):
    """The seconds of a duration as the API writes it, or None if it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        written = re.fullmatch(r"0*([0-9]+)([smhd]?)", value)
        if written:
            return int(written.group(1)) * SECONDS[written.group(2)]
    return None


def breaks_jitter_rule(body):
    if not isinstance(body, dict):
        return False
    every, jitter = seconds(body.get("every")), seconds(body.get("jitter"))
    return every is not None and jitter is not None and jitter > every


@schemathesis.hook("filter_failure").apply_to(method="PUT", path="/credential/{id}/schedule")
def jitter_longer_than_every_is_refused(ctx, failure, case, response):
    """False (drop) only for the one failure the docstring of this file describes."""
    if failure.code != "ST202" or response.status_code != 422:
        return True
    try:
        message = json.loads(response.content)["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return True
    return not (message == "jitter: at most every (the interval)" and breaks_jitter_rule(case.body))
