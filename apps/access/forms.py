from django import forms


class RevealForm(forms.Form):
    reason = forms.CharField(
        label="Why do you need to see this record's protected fields?",
        min_length=10,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "autofocus": True}),
        help_text="Recorded with your name in the audit log and reviewed by compliance.",
    )
