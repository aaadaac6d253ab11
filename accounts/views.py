from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import redirect
from django.urls import reverse_lazy
from django.views.generic import FormView

from accounts.forms import ProfileForm, SignUpForm
from accounts.services import user_profile_update


class SignUpView(FormView):
    """Create an account and log the new learner straight in."""

    template_name = "accounts/signup.html"
    form_class = SignUpForm
    success_url = reverse_lazy("courses:dashboard")

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            return redirect(self.success_url)
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form):
        user = form.save()
        login(self.request, user, backend="django.contrib.auth.backends.ModelBackend")
        return super().form_valid(form)


class ProfileView(LoginRequiredMixin, FormView):
    """The learner's settings: e-mail and the time zone their streak is counted in."""

    template_name = "accounts/profile.html"
    form_class = ProfileForm
    success_url = reverse_lazy("accounts:profile")

    def get_initial(self):
        return {"email": self.request.user.email, "time_zone": self.request.user.time_zone}

    def form_valid(self, form):
        user_profile_update(user=self.request.user, **form.cleaned_data)
        messages.success(self.request, "Your settings are saved.")
        return super().form_valid(form)
