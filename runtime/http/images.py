"""The Images page: every member sees the workspace's images and each name's earlier
digests; admins also register one from a registry (the list polls while a worker pulls it)
or upload an archive (runtime.images.receive keeps it on disk, under the cap). Thin: a
selector, the services, templates; htmx swaps the outcome line and the list."""

from __future__ import annotations

from itertools import groupby
from pathlib import Path
from typing import Any, cast

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST
from django_htmx.middleware import HtmxDetails

from designer import access
from designer.models import Role
from runtime import selectors
from runtime.images import register
from runtime.images.errors import ImageRefused
from runtime.images.receive import ArchiveReceiver, too_large_message
from runtime.models import ContainerImage

LISTED = 500  # newest rows shown; older ones stay in the API
FORM_FIELDS = ("workspace", "name", "description", "reference", "credentials_secret")


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)  # every view here is behind login_required


@login_required
@require_GET
def image_list(request: HtmxHttpRequest) -> HttpResponse:
    """The page, or (htmx polling while a pull runs) the list alone."""
    context = _list_context(_user(request))
    if request.htmx and request.htmx.target == "image-list":
        return render(request, "runtime/partials/image_list.html", context)
    return render(request, "runtime/images.html", context | {"form": {}, "which": ""})


@login_required
@require_POST
def image_register(request: HtmxHttpRequest) -> HttpResponse:
    """The registry form: the image is added as pulling and a worker pulls it."""
    form = {name: request.POST.get(name, "") for name in FORM_FIELDS}
    workspace = selectors.workspace_get_for_admin(
        user=_user(request), workspace_id=form["workspace"] or "0", what="images"
    )
    try:
        image = register.image_register_reference(
            workspace=workspace,
            name=form["name"],
            description=form["description"][:500],
            reference=form["reference"],
            credentials_secret=form["credentials_secret"],
            user=_user(request),
        )
    except ImageRefused as exc:
        return _answer(request, form, "registry", problem=exc)
    return _answer(request, form, "registry", image=image)


# Not the CSRF middleware: it would parse the form, archive and all, with Django's
# default upload handlers before the view could set its own. Checked below instead.
@csrf_exempt
@login_required
@require_POST
def image_upload(request: HtmxHttpRequest) -> HttpResponse:
    receiver = ArchiveReceiver(request)
    request.upload_handlers = [receiver]
    return _image_upload(request, receiver)


@csrf_protect
def _image_upload(request: HtmxHttpRequest, receiver: ArchiveReceiver) -> HttpResponse:
    form = {name: request.POST.get(name, "") for name in FORM_FIELDS}
    if receiver.too_large:
        refused = ImageRefused(too_large_message(), field="archive", status=413)
        return _answer(request, form, "upload", problem=refused)
    workspace = selectors.workspace_get_for_admin(
        user=_user(request), workspace_id=form["workspace"] or "0", what="images"
    )
    archive = request.FILES.get("archive")
    if archive is None:
        missing = ImageRefused("Choose the image archive to upload.", field="archive")
        return _answer(request, form, "upload", problem=missing)
    try:
        image = register.image_register_upload(
            workspace=workspace,
            name=form["name"],
            description=form["description"][:500],
            upload_path=Path(archive.temporary_file_path()),  # type: ignore[attr-defined]
            user=_user(request),
        )
    except ImageRefused as exc:
        return _answer(request, form, "upload", problem=exc)
    finally:
        archive.close()  # deletes the temporary file
    return _answer(request, form, "upload", image=image)


def _answer(
    request: HtmxHttpRequest,
    form: dict[str, str],
    which: str,
    *,
    image: ContainerImage | None = None,
    problem: ImageRefused | None = None,
) -> HttpResponse:
    """htmx: the form's outcome line, and the list swapped out of band. Without
    JavaScript: the page again, with what was typed and the problem, or a redirect."""
    status = problem.status if problem else 200
    if not request.htmx:
        if problem is None:
            return redirect("runtime:image-list")
        context = _list_context(_user(request)) | {"form": form, "which": which}
        return render(request, "runtime/images.html", context | {"problem": problem}, status=status)
    context = _list_context(_user(request)) | {"image": image, "problem": problem, "oob": True}
    return render(request, "runtime/partials/image_outcome.html", context, status=status)


def _list_context(user: User) -> dict[str, Any]:
    images = list(
        selectors.image_list_for_user(user=user).order_by(
            "workspace__name", "workspace_id", "name", "-created_at", "-id"
        )[:LISTED]
    )
    workspaces = []
    for workspace, rows in groupby(images, key=lambda image: image.workspace):
        names = [_name_group(name, list(group)) for name, group in groupby(rows, lambda i: i.name)]
        workspaces.append({"workspace": workspace, "names": names})
    admin_of = list(access.workspace_list_for_user(user=user, min_role=Role.ADMIN).order_by("name"))
    return {
        "workspaces": workspaces,
        "admin_of": admin_of,
        "pulling": any(image.status == ContainerImage.Status.PULLING for image in images),
    }


def _name_group(name: str, rows: list[ContainerImage]) -> dict[str, Any]:
    """A name's images, newest first: those down to the current one are shown (attempts
    still pulling or failed since, and the current image), the rest are its history."""
    shown = len(rows)
    for position, image in enumerate(rows):
        if image.current:
            shown = position + 1
            break
    else:
        shown = 1
    return {"name": name, "shown": rows[:shown], "earlier": rows[shown:]}
