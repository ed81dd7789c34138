"""Per-session state (``st.session_state`` only), staff sign-in, timeouts and the role check every page does.

Keys are constants here so that pages and tests agree on them. A staff sign-in is a server-side session in
the store (:class:`scoring.store.StaffSessions`) bound to the HttpOnly ``psyscore_staff`` cookie that
:mod:`ui.session_routes` sets: a reload, a typed URL or a second tab finds it through ``st.context.cookies``
and stays signed in; no secret is ever in the URL. Every staff page calls :func:`require_staff` first; it
re-checks the account and the session against the store (sign-out, disable and password change end it in
every tab) and applies the idle and absolute timeouts.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass, field
from datetime import timedelta

import streamlit as st

from scoring.store import Actor, Clinic, PermissionDeniedError, StoreError
from ui import resources
from ui.settings import AppSettings, load_settings

STAFF = "psyscore_staff"
PATIENT = "psyscore_patient_id"
KIOSK = "psyscore_kiosk"
FLASH = "psyscore_flash"
CODE_DIGITS = "psyscore_code_digits"
CLIENT_KEY = "psyscore_client_key"
STAFF_DEVICE = "psyscore_staff_device"  # this browser session signed a staff member in: default to the sign-in page
COOKIE_TOKEN = "psyscore_cookie_token"  # a one-time exchange token for the cookie route, sent by the next run
COOKIE_CLEAR = "psyscore_cookie_clear"  # expire the cookie in the browser on the next run
COOKIE_DEAD = "psyscore_cookie_dead"  # the cookie this connection sent was refused: do not ask the store again
COOKIE = "psyscore_staff"  # the same name as ui.session_routes.COOKIE

ROLES = ("admin", "therapist", "researcher")


@dataclass
class StaffSession:
    """A signed-in staff member (ids and role only; never a password or a patient identifier)."""

    user_id: int
    username: str
    role: str
    signed_in: float = field(default_factory=time.monotonic)
    last_seen: float = field(default_factory=time.monotonic)
    session_id: int | None = None  # the store's session (None only where the store session could not start)

    @property
    def actor(self) -> Actor:
        return Actor.user(self.user_id, self.role, self.username)


@dataclass
class KioskState:
    """The tablet's view of a redeemed assignment. The ticket is also in the URL so that a reload resumes;
    everything else is read back from the store on each run."""

    ticket: str
    last_activity: float = field(default_factory=time.monotonic)
    started: bool = False
    item: tuple[int, str] | None = None  # (administration id, item id) on screen (also after back or forward)
    last_item: tuple[int, str] | None = None  # the last item shown, to go back from the end of a questionnaire
    support_pending: bool = False  # show the support message before the next question
    support_shown: bool = False
    done: bool = False
    layout: str = "item"  # the patient's choice is also kept with the ticket in the store (a reload keeps it)
    administration: int | None = None  # the questionnaire the question area draws (None: draw the page again)
    administrations: tuple[int, ...] = ()  # the assignment's questionnaires in order (progress "j of m")
    runs: int = 0  # counts the runs that draw a guarded screen (the browser's tap guard sees each new one)


def settings() -> AppSettings:
    return load_settings()


def clinic() -> Clinic:
    return resources.clinic(settings().database_url)


def flash(message: str, kind: str = "info") -> None:
    """A message for the next run (e.g. after signing out)."""
    st.session_state[FLASH] = (kind, message)


def show_flash() -> None:
    item = st.session_state.pop(FLASH, None)
    if item:
        kind, message = item
        getattr(st, kind if kind in ("info", "success", "warning", "error") else "info")(message)


# -- staff ----------------------------------------------------------------------------------------------------
def staff() -> StaffSession | None:
    """The signed-in staff member of this browser session, resumed from the session cookie after a reload
    or in a new tab (when the store still holds the session live)."""
    value = st.session_state.get(STAFF)
    if isinstance(value, StaffSession):
        return value
    if kiosk() is not None:
        return None
    secret = _cookie()
    if not secret or st.session_state.get(COOKIE_DEAD) == secret:
        return None
    cfg = settings()
    info = clinic().sessions.resume(secret, cfg.staff_idle, cfg.staff_max)
    if info is None:
        st.session_state[COOKIE_DEAD] = secret
        return None
    me = StaffSession(info.user_id, info.username, info.role, session_id=info.id)
    st.session_state[STAFF] = me
    st.session_state[STAFF_DEVICE] = True
    return me


def _cookie() -> str | None:
    try:
        value = st.context.cookies.get(COOKIE)
    except Exception:  # no request context (a bare script run)
        return None
    return value if isinstance(value, str) else None


def sign_in(user_id: int, username: str, role: str) -> StaffSession:
    """Start a staff session (in the store, and the cookie on the next run); kiosk state is dropped first."""
    for key in (KIOSK, PATIENT, CODE_DIGITS, COOKIE_DEAD):
        st.session_state.pop(key, None)
    me = StaffSession(user_id, username, role)
    me.session_id, token = clinic().sessions.begin(me.actor)
    st.session_state[COOKIE_TOKEN] = token
    st.session_state[STAFF] = me
    return me


def sign_out(message: str | None = None, *, revoke: bool = True) -> None:
    """End the staff session: revoked in the store (every tab), the cookie expired, every per-user key gone."""
    me = st.session_state.get(STAFF)
    if revoke and isinstance(me, StaffSession) and me.session_id is not None:
        with contextlib.suppress(StoreError):
            clinic().sessions.end(me.actor, me.session_id)
    dead = _cookie()
    for key in list(st.session_state.keys()):
        if str(key).startswith("psyscore_") or str(key).startswith("w_"):
            del st.session_state[key]
    st.session_state[STAFF_DEVICE] = True
    st.session_state[COOKIE_CLEAR] = True
    if dead:
        st.session_state[COOKIE_DEAD] = dead
    if message:
        flash(message)


def cookie_script() -> None:
    """Send a pending cookie exchange (after sign-in) or expiry (after sign-out) from the browser: a same-origin
    POST with the one-time token in the body; the HttpOnly cookie comes back in the answer."""
    token = st.session_state.pop(COOKIE_TOKEN, None)
    clear = st.session_state.pop(COOKIE_CLEAR, None)
    if token:
        body = json.dumps({"token": token})
        st.html(f"<script>fetch('/_psyscore/session',{{method:'POST',credentials:'same-origin',"
                f"headers:{{'Content-Type':'application/json'}},body:{json.dumps(body)}}});</script>",
                unsafe_allow_javascript=True)
    elif clear:
        st.html("<script>fetch('/_psyscore/signout',{method:'POST',credentials:'same-origin'});</script>",
                unsafe_allow_javascript=True)


ENDED = {"signed_out": "You are signed out.", "password_changed": "Your password was changed: please sign in again.",
         "disabled": "Your account is disabled or no longer exists."}


def staff_expired(me: StaffSession, cfg: AppSettings, now: float | None = None) -> str | None:
    """Why the session has ended (idle or absolute timeout), or None."""
    t = time.monotonic() if now is None else now
    if t - me.last_seen > cfg.staff_idle.total_seconds():
        return f"You were signed out after {_minutes(cfg.staff_idle)} without activity."
    if t - me.signed_in > cfg.staff_max.total_seconds():
        return "You were signed out: sessions last at most " + _minutes(cfg.staff_max) + "."
    return None


def _minutes(d: timedelta) -> str:
    minutes = round(d.total_seconds() / 60)
    if minutes >= 120 and minutes % 60 == 0:
        return f"{minutes // 60} hours"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def require_staff(*roles: str) -> StaffSession:
    """The page's role check: stop the page unless a staff member with one of ``roles`` is signed in.

    Applies the idle and absolute timeouts and re-checks the account in the store on every run.
    """
    me = staff()
    if me is None:
        st.warning("Please sign in.")
        st.stop()
    cfg = settings()
    reason = staff_expired(me, cfg)
    if reason:
        sign_out(reason)
        st.rerun()
    ended = clinic().sessions.check(me.session_id, cfg.staff_idle, cfg.staff_max) if me.session_id else None
    if ended:
        sign_out(ENDED.get(ended, "Your session has ended: please sign in again."), revoke=False)
        st.rerun()
    try:
        info = clinic().users.get(me.actor, me.user_id)
    except (PermissionDeniedError, StoreError):
        sign_out("Your account is disabled or no longer exists.")
        st.rerun()
    if info.disabled or info.role != me.role:
        sign_out("Your account has changed; please sign in again.")
        st.rerun()
    if me.role not in roles:
        st.error("This page is not available for your role.")
        st.stop()
    me.last_seen = time.monotonic()
    with st.sidebar:
        st.caption(f"Signed in as **{me.username}** ({me.role})")
        if st.button("Sign out", key="w_sign_out"):
            sign_out("You are signed out.")
            st.rerun()
    staff_idle_watch()
    return me


def staff_idle_watch() -> None:
    """Sign out an idle staff session even when nobody clicks (a timer in the browser reruns this)."""
    cfg = settings()
    tick = max(5.0, min(60.0, cfg.staff_idle.total_seconds() / 4))

    @st.fragment(run_every=timedelta(seconds=tick))
    def _watch() -> None:
        me = staff()
        if me is not None:
            reason = staff_expired(me, cfg)
            ended = None if reason or me.session_id is None else clinic().sessions.check(
                me.session_id, cfg.staff_idle, cfg.staff_max, touch=False)
            if reason or ended:
                sign_out(reason or ENDED.get(str(ended), "Your session has ended: please sign in again."),
                         revoke=not ended)
                st.rerun(scope="app")

    _watch()


# -- patient selection ------------------------------------------------------------------------------------------
def select_patient(patient_id: int) -> None:
    """Remember the patient chosen from the caseload (session state only; never the URL)."""
    for key in [k for k in st.session_state if str(k).startswith("psyscore_report_")]:
        del st.session_state[key]
    st.session_state[PATIENT] = int(patient_id)


def selected_patient() -> int | None:
    value = st.session_state.get(PATIENT)
    return value if isinstance(value, int) else None


# -- kiosk -----------------------------------------------------------------------------------------------------
def kiosk() -> KioskState | None:
    value = st.session_state.get(KIOSK)
    return value if isinstance(value, KioskState) else None


def nav_mode() -> str:
    """Which page list the session gets: a role, ``kiosk`` (a patient session on the tablet) or ``anonymous``."""
    me = staff()
    if me is not None and me.role in ROLES:
        return me.role
    if kiosk() is not None:
        return "kiosk"
    return "signed_out" if st.session_state.get(STAFF_DEVICE) else "anonymous"
