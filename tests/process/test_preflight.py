"""`python -m broker check` against the local AWS, as an operator runs it: all well, and each way
the set-up can be wrong. moto does not implement iam:SimulatePrincipalPolicy (it answers a 500
page), so there the check reads the key's own policies and says the rights were not simulated."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from broker.aws.identity import CallerIdentity
from broker.policy import account_policies
from broker.server import boundary_check, preflight
from broker.settings import Settings
from testing.clients import user_exists
from testing.harness import EXTERNAL_ACCOUNT, REPO, Backend, BrokerServer, new_id
from testing.processes import clean_env


def check(backend: Backend, **env: str) -> subprocess.CompletedProcess[str]:
    settings = {
        "AWS_ENDPOINT_URL": backend.moto.endpoint,
        "AWS_ACCESS_KEY_ID": backend.broker.access_key_id,
        "AWS_SECRET_ACCESS_KEY": backend.broker.secret_access_key,
        "AWS_REGION": "eu-west-2",
        "IAM_PERMISSIONS_BOUNDARY_ARN": backend.permissions_boundary_arn,
        "ALLOWED_EXTERNAL_ACCOUNT_IDS": EXTERNAL_ACCOUNT,  # as the backend's boundary was made
        "BROKER_USERNAME": "broker",
        "BROKER_PASSWORD": "broker-password",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "broker", "check"],
        cwd=REPO,
        env=clean_env(**{name: value for name, value in settings.items() if value}),
        capture_output=True,
        text=True,
        timeout=60,
    )


def lines(result: subprocess.CompletedProcess[str], status: str) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.startswith(f"{status} ")]


def test_all_well_but_the_rights_are_not_simulated_where_iam_cannot(backend: Backend) -> None:
    result = check(backend)
    assert result.returncode == 0, result.stdout + result.stderr
    assert not lines(result, "FAIL")
    topics = [line.split(":")[0].split("  ")[-1].strip() for line in lines(result, "ok")]
    assert topics == ["settings on Cloud Foundry", "AWS credentials", "region and partition", "permissions boundary"]
    (not_checked,) = lines(result, "not checked")
    assert "does not answer iam:SimulatePrincipalPolicy" in not_checked
    assert "name every action the broker uses, but their resources and conditions were not evaluated" in not_checked
    assert result.stdout.splitlines()[-1] == "4 ok, 1 not checked, 0 failed"


def test_no_boundary_fails_as_the_broker_would_on_cloud_foundry(backend: Backend) -> None:
    result = check(backend, IAM_PERMISSIONS_BOUNDARY_ARN="")
    assert result.returncode == 1
    settings_line, boundary_line = lines(result, "FAIL")
    assert "the broker would refuse to start: IAM_PERMISSIONS_BOUNDARY_ARN is required" in settings_line
    assert "IAM_PERMISSIONS_BOUNDARY_ARN is not set" in boundary_line
    assert "what to do: create the boundary (python -m broker policy boundary > boundary.json" in result.stdout
    knowingly = check(backend, IAM_PERMISSIONS_BOUNDARY_ARN="", ALLOW_USERS_WITHOUT_BOUNDARY="true")
    assert knowingly.returncode == 0, knowingly.stdout
    assert any("ALLOW_USERS_WITHOUT_BOUNDARY=true" in line for line in lines(knowingly, "not checked"))


def test_a_boundary_that_does_not_exist_or_differs_fails(backend: Backend) -> None:
    # The broker policy lets the key read only the boundary it names, so AWS (and the local gate)
    # answers AccessDenied, not NoSuchEntity, for another ARN: a failure, since every bind's CreateUser
    # would be refused as well; the key's own policy says which boundary it names.
    named, gone = backend.permissions_boundary_arn, backend.permissions_boundary_arn + "-gone"
    missing = check(backend, IAM_PERMISSIONS_BOUNDARY_ARN=gone)
    assert missing.returncode == 1, missing.stdout
    (line,) = lines(missing, "FAIL")
    assert f"IAM_PERMISSIONS_BOUNDARY_ARN is {gone}, but the broker policy names {named}" in line
    assert "(AccessDenied), and would refuse every bind" in line
    assert f"what to do: set IAM_PERMISSIONS_BOUNDARY_ARN to {named}" in missing.stdout
    assert f"or, if {gone} is the boundary to use, apply the broker policy printed with it set" in missing.stdout
    # With another bucket prefix the broker would print another boundary than the one in IAM.
    differs = check(backend, BUCKET_PREFIX="team-b-")
    assert differs.returncode == 1
    (line,) = lines(differs, "FAIL")
    assert "differs from `python -m broker policy boundary`" in line
    assert "aws iam create-policy-version" in differs.stdout


def test_a_boundary_other_than_the_broker_policys_fails_and_binds_would_be_refused(backend: Backend, iam: Any) -> None:
    """An existing boundary, but not the one the broker policy was printed with: the preflight fails,
    and a broker started so gets no binding user made, as the preflight says."""
    document = account_policies.boundary_policy(
        account_policies.facts_for(backend.settings(), backend.permissions_boundary_arn.split(":")[4])
    )
    other = iam.create_policy(PolicyName=f"other-boundary-{new_id()[:8]}", PolicyDocument=json.dumps(document))
    arn = other["Policy"]["Arn"]
    result = check(backend, IAM_PERMISSIONS_BOUNDARY_ARN=arn)
    assert result.returncode == 1, result.stdout
    (line,) = lines(result, "FAIL")
    assert f"but the broker policy names {backend.permissions_boundary_arn}" in line
    with BrokerServer(backend.settings(iam_permissions_boundary_arn=arn)) as server:
        osb = server.osb()
        instance_id, binding_id = new_id(), new_id()
        assert osb.provision(instance_id).status_code == 201
        bound = osb.bind(instance_id, binding_id)
        assert bound.status_code == 502 and "may not create IAM user" in bound.text, bound.text
        assert not user_exists(iam, binding_id)
        assert osb.deprovision(instance_id).status_code == 200


def test_a_refused_boundary_read_says_which_boundary_to_change() -> None:
    arn = "arn:aws:iam::111122223333:policy/s3-broker-binding-boundary"
    # The policy names this boundary but predates the statement that lets the key read it.
    older = boundary_check.unreadable(arn, "AccessDenied", {arn})
    assert older.status == preflight.NOT_CHECKED and "PreflightReadsTheBoundary" in older.fix
    elsewhere = boundary_check.unreadable(arn + "-b", "AccessDenied", {arn})
    assert elsewhere.status == preflight.FAIL and f"set IAM_PERMISSIONS_BOUNDARY_ARN to {arn} " in elsewhere.fix
    for named in (None, set()):  # the key's own policy unreadable (a role), or naming no boundary
        unknown = boundary_check.unreadable(arn, "AccessDenied", named)
        assert unknown.status == preflight.FAIL and "names another boundary or none" in unknown.detail
        assert unknown.fix.startswith(f"If {arn} is the boundary to use, apply the broker policy printed with it set")


def test_a_key_that_lacks_an_action_fails_naming_it(backend: Backend) -> None:
    lesser = backend.restricted_broker("preflight-lesser", {"s3:PutBucketTagging", "iam:CreateAccessKey"})
    result = check(backend, AWS_ACCESS_KEY_ID=lesser.access_key_id, AWS_SECRET_ACCESS_KEY=lesser.secret_access_key)
    assert result.returncode == 1
    (line,) = lines(result, "FAIL")
    assert "do not allow s3:PutBucketTagging, iam:CreateAccessKey" in line
    assert "python -m broker policy broker > broker-policy.json" in result.stdout


def test_a_wrong_key_fails_without_asking_further(backend: Backend) -> None:
    result = check(backend, AWS_SECRET_ACCESS_KEY="wrong")
    assert result.returncode == 1
    (line,) = lines(result, "FAIL")
    assert "AWS credentials: AWS refused" in line and "AWS_SECRET_ACCESS_KEY" in result.stdout


def test_a_region_of_another_partition_than_the_key_fails() -> None:
    settings = Settings(broker_username="u", broker_password="p", aws_region="cn-north-1")
    key = CallerIdentity("111122223333", "arn:aws:iam::111122223333:user/s3-broker")
    assert preflight.region(settings, key, lambda partition: ["cn-north-1"]).status == preflight.FAIL
    unknown = Settings(broker_username="u", broker_password="p", aws_region="eu-nowhere-9")
    assert preflight.region(unknown, key, lambda partition: ["eu-west-2"]).status == preflight.FAIL
    known = Settings(broker_username="u", broker_password="p", aws_region="eu-west-2")
    assert preflight.region(known, key, preflight.known_regions).status == preflight.OK


class SimulatingIam:
    """What AWS IAM answers to SimulatePrincipalPolicy, for the actions it is told to refuse (moto cannot)."""

    def __init__(self, refused: set[str], denied: set[str]) -> None:
        self.refused, self.denied = refused, denied
        self.asked: list[dict[str, Any]] = []

    def decision(self, action: str) -> str:
        return "explicitDeny" if action in self.denied else "implicitDeny" if action in self.refused else "allowed"

    def simulate_principal_policy(self, **request: Any) -> dict[str, Any]:
        self.asked.append(request)
        decisions = {name: self.decision(name) for name in request["ActionNames"]}
        return {"EvaluationResults": [{"EvalActionName": n, "EvalDecision": d} for n, d in decisions.items()]}


def test_simulated_rights_name_each_statement_and_its_missing_actions() -> None:
    settings = Settings(broker_username="u", broker_password="p", aws_region="eu-west-2")
    facts = account_policies.facts_for(settings, "111122223333")
    key = CallerIdentity("111122223333", "arn:aws:iam::111122223333:user/ops/s3-broker")
    deny = {
        a for st in account_policies.broker_policy(facts)["Statement"] if st["Effect"] == "Deny" for a in st["Action"]
    }
    iam = SimulatingIam({"iam:TagUser"}, deny)
    found = list(preflight.permissions(iam, key, facts))
    failed = [finding for finding in found if finding.status == preflight.FAIL]
    assert [(f.topic, f.detail.split(" on ")[0]) for f in failed] == [
        ("permissions ManageBindingUsers", "the key may not iam:TagUser")
    ]
    assert {f.topic for f in found} >= {"permissions ManageBrokerBuckets", "permissions NeverChangeBoundaries"}
    create = next(asked for asked in iam.asked if "iam:CreateUser" in asked["ActionNames"])
    assert create["ResourceArns"] == [
        f"arn:aws:iam::111122223333:user/cf-s3-broker/{preflight.SAMPLE_ID}/cf-s3-{preflight.SAMPLE_ID}"
    ]
    assert create["ContextEntries"] == [
        {
            "ContextKeyName": "iam:PermissionsBoundary",
            "ContextKeyValues": [facts.permissions_boundary_arn],
            "ContextKeyType": "string",
        }
    ]
    own = next(asked for asked in iam.asked if "iam:SimulatePrincipalPolicy" in asked["ActionNames"])
    assert own["ResourceArns"] == ["arn:aws:iam::111122223333:user/s3-broker"]


def test_an_assumed_role_is_simulated_as_its_role() -> None:
    session = CallerIdentity("111122223333", "arn:aws:sts::111122223333:assumed-role/s3-broker/cf")
    assert preflight.principal_arn(session) == "arn:aws:iam::111122223333:role/s3-broker"
