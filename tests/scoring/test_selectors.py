"""passed_scenario_slugs: scenarios with a succeeded run whose score passed, per learner."""

import pytest
from django.contrib.auth.models import AnonymousUser

from scoring.selectors import passed_scenario_slugs
from scoring.services import assessment_save
from simulations.models import Run
from tests.scoring.facts import assessment

PASSING = dict(outage_s=None)
FAILING = dict(outage_s=(200, 320))


def scored_run(make_run, *, owner, scenario, status=Run.Status.SUCCEEDED, **facts):
    run = make_run(owner=owner, scenario=scenario, status=status)
    assessment_save(run=run, assessment=assessment(**facts))
    return run


@pytest.mark.django_db
def test_only_own_succeeded_passing_runs_count(
    make_run, make_scenario, user, other_user, django_assert_num_queries
):
    a, b, c, d = (make_scenario(slug) for slug in ("a-passed", "b-failed", "c-other", "d-running"))
    scored_run(make_run, owner=user, scenario=a, **PASSING)
    scored_run(make_run, owner=user, scenario=a, **FAILING)  # a later failure does not undo a pass
    scored_run(make_run, owner=user, scenario=b, **FAILING)
    scored_run(make_run, owner=other_user, scenario=c, **PASSING)
    scored_run(make_run, owner=user, scenario=d, status=Run.Status.RUNNING, **PASSING)
    make_run(owner=user, scenario=c)  # succeeded but never scored

    with django_assert_num_queries(1):
        slugs = passed_scenario_slugs(user=user)
    assert slugs == {"a-passed"}
    assert passed_scenario_slugs(user=other_user) == {"c-other"}


@pytest.mark.django_db
def test_anonymous_user_has_passed_nothing(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert passed_scenario_slugs(user=AnonymousUser()) == set()
