"""The designer form: a design document as JSON text, plus an idempotency key (double submits)."""

import json
import uuid

from django import forms


class DesignSubmitForm(forms.Form):
    design = forms.CharField(
        label="Design document (JSON)",
        widget=forms.Textarea(
            attrs={"class": "code", "rows": 24, "spellcheck": "false", "autocomplete": "off"}
        ),
        help_text="Components, routes and optional edge policies, in the engine's design format.",
    )
    # Rendered once per page view: submitting the same page twice (a double click, a resent
    # POST) yields the same run instead of two.
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=255, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", uuid.uuid4().hex)

    @staticmethod
    def initial_text(document: dict) -> str:
        """A design document as the textarea shows it: indented, keys in their authored order."""
        return json.dumps(document, indent=2)

    def clean_design(self) -> dict:
        text = self.cleaned_data["design"]
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                f"This is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
            ) from exc
        if not isinstance(document, dict):
            raise forms.ValidationError(
                "The design must be a JSON object with components and routes."
            )
        return document
