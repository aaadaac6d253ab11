"""Web pages: scenario library, scenario page with the designer form, my runs, one run."""

import uuid

from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from config.errors import NotFoundError, UnprocessableError
from courses.markdown import render_markdown
from simulations import selectors, specs
from simulations.diagram import DiagramError, design_diagram
from simulations.forms import DesignSubmitForm
from simulations.models import RunStatus
from simulations.services.runs import SubmissionError, run_submit

RUNS_PER_PAGE = 20


def scenario_list(request):
    """The scenario library, grouped by pressure type; public."""
    return render(
        request, "simulations/scenario_list.html", {"groups": selectors.scenarios_by_pressure()}
    )


@require_http_methods(["GET", "POST"])
def scenario_detail(request, slug: str):
    """The brief, the contract and the designer form (POST submits a run; errors → 400 + form)."""
    try:
        scenario = selectors.scenario_get(slug=slug)
    except NotFoundError as exc:
        raise Http404(exc.message) from exc
    problems: list[dict] = []
    status = 200
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        form = DesignSubmitForm(request.POST)
        run, form, problems = _submit(request, scenario, form)
        if run is not None:
            return redirect("simulations:run_detail", pk=run.pk)
        status = 400
        # Only a design the engine accepts is drawn: a half-edited one would mislead.
        shown = None if problems or form.has_error("design") else form.cleaned_data.get("design")
    else:
        shown = _starting_design(request, scenario)
        form = DesignSubmitForm(initial={"design": DesignSubmitForm.initial_text(shown)})
    context = {
        "scenario": scenario,
        "brief_html": render_markdown(scenario.brief),
        "notes_html": render_markdown(scenario.teaching_notes) if scenario.teaching_notes else "",
        "facts": specs.contract_facts(scenario.spec),
        "traffic": specs.traffic_description(scenario.spec),
        "duration_min": scenario.spec["duration_s"] / 60,
        "incidents": specs.incident_windows(scenario.spec),
        "form": form,
        "problems": problems,
        "diagram": _diagram(shown),
        "recent_runs": (
            selectors.recent_finished_runs(user=request.user, scenario=scenario)
            if request.user.is_authenticated
            else []
        ),
    }
    return render(request, "simulations/scenario_detail.html", context, status=status)


def _submit(request, scenario, form: DesignSubmitForm):
    """Submit a bound form; ``(run, form, design problems)`` with ``run`` None when refused."""
    if not form.is_valid():
        return None, form, []
    try:
        run, _ = run_submit(
            owner=request.user,
            scenario_slug=scenario.slug,
            design_doc=form.cleaned_data["design"],
            idempotency_key=form.cleaned_data["idempotency_key"] or None,
        )
    except SubmissionError as exc:
        for field in ("scenario", "replications", "seed"):
            for message in exc.problems.get(field, []):
                form.add_error(None, message)
        return None, form, exc.problems.get("design", [])
    except UnprocessableError:
        # This page was submitted before (browser back) and the design has changed since: give
        # it a fresh key, so pressing Run again submits the new design as a new run.
        data = request.POST.copy()
        data["idempotency_key"] = uuid.uuid4().hex
        form = DesignSubmitForm(data)
        form.is_valid()
        form.add_error(
            None,
            "This page was already submitted with another design. "
            "Check the design below and press Run again to submit it.",
        )
        return None, form, []
    return run, form, []


def _starting_design(request, scenario) -> dict:
    """The starter design, or the design of one of the learner's runs (``?from_run=<id>``)."""
    run_id = request.GET.get("from_run", "")
    if run_id.isdigit() and request.user.is_authenticated:
        try:
            run = selectors.run_get(user=request.user, run_id=int(run_id))
        except NotFoundError:
            return scenario.starter_design
        if run.scenario_id == scenario.pk:
            return run.design.document
    return scenario.starter_design


def _diagram(design_doc, **run_facts) -> dict | None:
    """The diagram's layout of a design document, or ``None`` when it cannot be drawn."""
    if design_doc is None:
        return None
    try:
        return design_diagram(design_doc, **run_facts)
    except DiagramError:
        return None


def _run_facts(result, postmortem) -> dict:
    """What the run page's diagram shows of a finished run: peak load and the root cause."""
    if result is None:
        return {}
    root_cause = (postmortem.root_cause or {}).get("component") if postmortem else None
    return {"utilization": specs.peak_utilizations(result), "root_cause": root_cause}


@login_required
def run_list(request):
    """My runs, newest first, paginated."""
    page = Paginator(selectors.run_list(user=request.user), RUNS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(request, "simulations/run_list.html", {"page": page})


@login_required
def run_detail(request, pk: int):
    """One of my runs: live status until it finishes, then score, post-mortem and charts."""
    try:
        run = selectors.run_get(user=request.user, run_id=pk)
    except NotFoundError as exc:
        raise Http404(exc.message) from exc
    succeeded = run.status == RunStatus.SUCCEEDED
    result = getattr(run, "result", None) if succeeded else None
    postmortem = getattr(run, "postmortem", None) if succeeded else None
    context = {
        "run": run,
        "api_url": reverse("api-run-detail", args=[run.pk]),
        "series_url": reverse("api-run-series", args=[run.pk]) if result else "",
        "incidents": specs.incident_windows(run.scenario_snapshot),
        "sla": run.scenario_snapshot["sla"],
        "facts": specs.contract_facts(run.scenario_snapshot),
        "summary_rows": specs.series_summary(result) if result else [],
        "design_text": DesignSubmitForm.initial_text(run.design.document),
        "score": getattr(run, "score", None) if succeeded else None,
        "postmortem": postmortem,
        "diagram": _diagram(run.design.document, **_run_facts(result, postmortem)),
    }
    return render(request, "simulations/run_detail.html", context)
