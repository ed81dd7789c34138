"""The patient's tablet: code → instructions and consent → one question per screen → thank you.

Every answer is saved by the store the moment it is tapped. The store's kiosk ticket (256 random bits, kept
hashed in the database, expiring after the idle timeout) is the only thing in the URL, so a reload resumes
on this tablet; it stops working at completion and after the idle timeout. No score, band or alert is ever
shown here, and no staff session lives in a kiosk session.
"""

from __future__ import annotations

import contextlib
import time
from datetime import timedelta

import streamlit as st

from scoring import messages
from scoring.store import (
    AdministrationClosedError,
    AnswerRejectedError,
    CodeInvalidError,
    ConsentRequiredError,
    ItemPrompt,
    KioskSession,
    NotFoundError,
    StoreError,
    TicketInvalidError,
    TooManyAttemptsError,
)
from ui import kiosk_input, kiosk_ui, state
from ui.kiosk_ui import t

SESSION_PARAM = "session"  # the kiosk ticket (a reload resumes with it)
LINK_PARAM = "link"  # a one-time link token from the therapist's QR code or link
CODE_LENGTH = state.clinic().kiosk.code_digits  # one constant: scoring.store.security.CODE_DIGITS
LANGUAGE = "psyscore_kiosk_language"  # the tablet's language now (the code screen's choice, then the session's)
CHOSEN = "psyscore_kiosk_language_chosen"  # monotonic time the patient chose a language on the code screen
NOTICE = "psyscore_kiosk_notice"  # (message key, kind) the code screen shows, in its language of the moment
RUNS = "psyscore_kiosk_runs"  # counts the runs that draw a guarded screen, for this browser session

cfg = state.settings()
clinic = state.clinic()
kiosk = clinic.kiosk
if state.staff() is not None:  # never reached through navigation; a second guard all the same
    st.error(t("staff_signed_in", st.session_state.get(LANGUAGE, messages.REFERENCE)))
    st.stop()
kiosk_ui.inject_css()
kiosk_input.tap_guard()  # taps wait for the answer to the previous tap and for the new question to be seen
CODE_RESET = "psyscore_code_reset"  # a new value clears the keypad's digits in the browser


# -- helpers ---------------------------------------------------------------------------------------------------
def client_key() -> str:
    """Who is typing codes, for the store's attempt limits: the tablet's network address, never this browser
    session (a new session must not reset the count); X-Forwarded-For only through a configured proxy."""
    from scoring.store.security import kiosk_client

    headers = getattr(st.context, "headers", None) or {}
    return kiosk_client(getattr(st.context, "ip_address", None), headers.get("X-Forwarded-For"))


def language() -> str:
    return st.session_state.get(LANGUAGE, messages.REFERENCE)


def notice(message_key: str | None, kind: str = "info") -> None:
    """What the code screen says (why the last session ended, a wrong code): kept as a catalogue key, so it is
    shown in whatever language the code screen is in — also after the next patient chooses another one."""
    if message_key:
        st.session_state[NOTICE] = (message_key, kind)
    else:
        st.session_state.pop(NOTICE, None)


def reset_language() -> None:
    """The next patient starts in the default language: nothing of the last patient's choice is kept."""
    for key in (LANGUAGE, CHOSEN):
        st.session_state.pop(key, None)


def end_session(message_key: str | None) -> None:
    """Back to the code screen: the ticket stops working, the session, its language and the URL are cleared."""
    ks = state.kiosk()
    if ks is not None and not ks.done:
        with contextlib.suppress(StoreError):
            kiosk.leave(ks.ticket)
    for key in (state.KIOSK, state.CODE_DIGITS):
        st.session_state.pop(key, None)
    reset_language()
    st.query_params.clear()
    notice(message_key)


def activity(ks: state.KioskState, touch: bool = True) -> bool:
    """Record a tap: the idle clock restarts here and in the store (``touch``; False when the store call that
    follows extends the ticket itself). False when the session already ended."""
    if time.monotonic() - ks.last_activity > cfg.kiosk_idle.total_seconds():
        end_session("idle")
        return False
    ks.last_activity = time.monotonic()
    if not touch:
        return True
    try:
        kiosk.touch(ks.ticket, cfg.kiosk_idle)
    except TicketInvalidError:
        end_session("ended")
        return False
    return True


def begin(session: KioskSession) -> None:
    # a reload resumes where the patient was: the layout they chose and the question on screen (kept with
    # the ticket by the store), also before the first answer and in the one-page layout
    ks = state.KioskState(ticket=session.ticket, layout=session.layout or cfg.kiosk_layout)
    ks.started = ((session.screen is not None or any(a.answered for a in session.administrations))
                  and not session.consent_needed)
    if session.screen is not None and session.screen[1] is not None:
        ks.item = (session.screen[0], session.screen[1])
    # after a reload the support message is shown again, first (never on the final screen)
    ks.support_pending = ks.support_shown = session.critical_answer_given and not session.finished
    st.session_state[state.KIOSK] = ks
    st.session_state.pop(state.CODE_DIGITS, None)
    kiosk.touch(session.ticket, cfg.kiosk_idle)
    st.query_params.clear()
    st.query_params[SESSION_PARAM] = session.ticket


def redeem(code: str) -> None:
    try:
        session = kiosk.redeem(code, client=client_key())
    except TooManyAttemptsError:
        notice("too_many", "error")
    except CodeInvalidError:
        notice("invalid", "error")
    else:
        if st.session_state.get(CHOSEN) is not None:  # the patient chose before the code: the session starts in it
            with contextlib.suppress(TicketInvalidError):
                session = kiosk.set_language(session.ticket, language())
        notice(None)
        begin(session)
    st.session_state.pop(state.CODE_DIGITS, None)


def idle_watch() -> None:
    """Return to the code screen after the idle timeout even when nobody taps (the browser reruns this)."""
    idle = cfg.kiosk_idle.total_seconds()
    tick = max(1.0, min(10.0, idle / 4))

    @st.fragment(run_every=timedelta(seconds=tick))
    def _watch() -> None:
        ks = state.kiosk()
        if ks is None:
            return
        limit = min(idle, 60.0) if ks.done else idle
        if time.monotonic() - ks.last_activity > limit:
            end_session(None if ks.done else "idle")
            st.rerun(scope="app")

    _watch()


# -- entry: a link or a reload ---------------------------------------------------------------------------------
ks = state.kiosk()
if ks is None:
    link = st.query_params.get(LINK_PARAM)
    ticket = st.query_params.get(SESSION_PARAM)
    if link:
        st.query_params.clear()  # a link is single use: never leave it in the address bar
        redeem(link)
    elif ticket:
        try:
            kiosk.touch(ticket, cfg.kiosk_idle)  # raises when it expired (idle timeout) or was completed
            begin(kiosk.resume(ticket))
        except TicketInvalidError:
            st.query_params.clear()
            notice("ended")
    ks = state.kiosk()

if ks is not None and not ks.done and time.monotonic() - ks.last_activity > cfg.kiosk_idle.total_seconds():
    end_session("idle")
    ks = None


# -- screens ---------------------------------------------------------------------------------------------------
def choose_code_language(code: str) -> None:
    st.session_state[LANGUAGE] = code
    st.session_state[CHOSEN] = time.monotonic()


def code_language_watch() -> None:
    """A language chosen on the code screen goes back to the default after the idle timeout without a code:
    the next person to pick up the tablet is not met in the last one's language."""
    chosen = st.session_state.get(CHOSEN)
    if chosen is None:
        return
    idle = cfg.kiosk_idle.total_seconds()
    if time.monotonic() - chosen > idle:
        reset_language()
        notice(None)
        return

    @st.fragment(run_every=timedelta(seconds=max(1.0, min(10.0, idle / 4))))
    def _watch() -> None:
        since = st.session_state.get(CHOSEN)
        if state.kiosk() is None and since is not None and time.monotonic() - since > idle:
            st.rerun(scope="app")

    _watch()


def code_language_choice(lang: str) -> None:
    """Big buttons for every shipped language, each named in itself, before anything else on the screen."""
    codes = messages.shipped_languages()
    # one row that wraps (st.columns would stack them one per line on a phone and push Start below the fold)
    row = st.container(horizontal=True, wrap=True, gap="small")
    for code in codes:
        row.button(kiosk_ui.language_name(code), key=f"w_code_lang_{code}", width="stretch",
                   type="primary" if code == lang else "secondary", on_click=choose_code_language, args=(code,))


def code_screen() -> None:
    code_language_watch()
    run = begin_screen("code")
    lang = language()
    kiosk_ui.inject_direction(lang)
    code_language_choice(lang)
    st.title(t("code_title", lang))
    state.show_flash()
    shown = st.session_state.get(NOTICE)
    if shown:
        key, kind = shown
        (st.error if kind == "error" else st.info)(t(key, lang))
    st.markdown(t("code_help", lang))
    # the digits are collected in the browser (no tap can be dropped); the whole code comes with Start
    labels = {k: t(k, lang) for k in ("clear", "delete", "start")} | {"display_label": t("code_display_label", lang)}
    code = kiosk_input.code_keypad(key="w_code", max_digits=CODE_LENGTH, labels=labels,
                                   reset=st.session_state.get(CODE_RESET, 0))
    if code:
        redeem(code)
        st.session_state[CODE_RESET] = st.session_state.get(CODE_RESET, 0) + 1
        st.rerun()
    kiosk_input.screen_marker("code", run)


def completion_screen(ks: state.KioskState) -> None:
    run = begin_screen("done")
    lang = language()
    kiosk_ui.inject_direction(lang)
    st.title(t("thanks_title", lang))
    st.markdown(t("thanks", lang))  # the same for everyone: nothing here tells a critical answer was given
    if st.button(t("finish", lang), key="w_finish", type="primary", width="stretch"):
        end_session(None)
        st.rerun()
    kiosk_input.screen_marker("done", run)


def _escape(text: str) -> str:
    import html

    return html.escape(text).replace("\n", "<br>")


def languages(session: KioskSession) -> list[str]:
    """Languages every questionnaire not yet started can be shown in (the definitions' translations)."""
    found: dict[str, None] = {}
    for a in session.administrations:
        if a.status == "pending":
            ins = clinic.library.get_version(a.instrument_id, a.instrument_version).instrument
            for code in (ins.language, *ins.translations):
                found.setdefault(code, None)
    return list(found)


def switch_layout(ks: state.KioskState) -> None:
    if activity(ks):
        ks.layout = "item" if ks.layout == "page" else "page"
        kiosk.set_layout(ks.ticket, ks.layout)  # kept with the ticket: a reload resumes with this layout


def begin_screen(screen: str) -> int:
    """Start drawing a guarded screen (before any of it is visible); returns the run number its end marker
    carries. One counter per browser session, across patients: the numbers only grow, so the tap guard can
    tell the newest marker from stale ones."""
    run = st.session_state[RUNS] = st.session_state.get(RUNS, 0) + 1
    kiosk_input.screen_begin(screen, run)
    return run


def choose_language(ks: state.KioskState, code: str) -> None:
    if activity(ks):
        kiosk.set_language(ks.ticket, code)
        st.session_state[LANGUAGE] = code


def welcome_screen(ks: state.KioskState, session: KioskSession) -> None:
    # the battery's text in the patient's language when it is translated, else this whole screen in the
    # battery's own language (one screen never mixes two languages)
    has_text = bool(session.instructions or (session.consent_needed and session.consent_text))
    lang = cfg.battery_language if has_text and session.text_language is None else language()
    run = begin_screen("welcome")
    kiosk_ui.inject_direction(lang)
    st.title(t("instructions", lang))
    choices = languages(session)
    if len(choices) > 1:
        current = next((a.language for a in session.administrations if a.status == "pending"), choices[0])
        st.markdown(f"**{t('language', lang)}**")
        cols = st.columns(len(choices))
        for col, code in zip(cols, choices, strict=True):
            col.button(kiosk_ui.language_name(code), key=f"w_lang_{code}", width="stretch",
                       type="primary" if code == current else "secondary", on_click=choose_language, args=(ks, code))
    if session.instructions:
        st.markdown(session.instructions)
    st.button(t("one_page" if ks.layout == "item" else "one_item", lang), key="w_layout", width="stretch",
              on_click=switch_layout, args=(ks,))
    if session.consent_needed and session.consent_text:
        st.subheader(t("consent", lang))
        st.markdown(session.consent_text)
        agreed = st.button(t("agree", lang), key="w_agree", type="primary", width="stretch")
        if agreed and activity(ks):
            kiosk.agree(ks.ticket)
            ks.started = True
            st.rerun()
    elif st.button(t("begin", lang), key="w_begin", type="primary", width="stretch") and activity(ks):
        ks.started = True
        st.rerun()
    kiosk.show_no_question(ks.ticket)  # no answer is taken while the instructions are on screen
    kiosk_input.screen_marker("welcome", run)


def support_screen(ks: state.KioskState) -> None:
    run = begin_screen("support")
    lang = language()
    kiosk_ui.inject_direction(lang)
    st.title(t("support_title", lang))
    text = clinic.kiosk_settings.support_message(lang, cfg.support_messages)  # admin's > environment > shipped
    st.html(f'<div class="psy-support" data-testid="psy-support">{_escape(text)}</div>')
    kiosk.show_no_question(ks.ticket, idle=cfg.kiosk_idle)  # no answer is taken while this is on screen
    st.button(t("continue", lang), key="w_support_continue", type="primary", width="stretch",
              on_click=support_seen, args=(ks,))
    kiosk_input.screen_marker("support", run)


def support_seen(ks: state.KioskState) -> None:
    if activity(ks, touch=False):
        ks.support_pending = False


def progress(ks: state.KioskState, administration_id: int, done: int, total: int, position: int | None) -> None:
    """Questionnaire j of m (· question k of n) and a bar that starts at 0: ``done`` of ``total`` items of
    this questionnaire are behind the patient."""
    lang = language()
    ids = ks.administrations or (administration_id,)
    j = ids.index(administration_id) + 1 if administration_id in ids else 1
    parts = [t("questionnaire", lang, j=j, m=len(ids))]
    if position is not None:
        parts.append(t("question", lang, k=position, n=total))
    st.html(f'<div class="psy-progress" data-testid="psy-progress" dir="{kiosk_ui.direction(lang)}">'
            f'{" · ".join(parts)}</div>')
    fraction = (j - 1 + min(done, total) / max(total, 1)) / len(ids)
    st.progress(min(max(fraction, 0.0), 1.0))


def save(ks: state.KioskState, prompt: ItemPrompt, value: int | float | None, advance: bool) -> None:
    """Store one answer now (button callback; the question it was made on comes with it, and the store takes
    it only while that question is on screen); then show the following question."""
    if not activity(ks, touch=False):
        return
    try:
        saved = kiosk.save_answer(ks.ticket, prompt.administration_id, prompt.item_id, value, idle=cfg.kiosk_idle)
    except AnswerRejectedError as err:
        if err.code != "not_on_screen":  # a tap for a question no longer on screen: the screen stays as it is
            ks.item = None
        return
    except (AdministrationClosedError, NotFoundError, ConsentRequiredError):
        ks.item = None
        return
    except TicketInvalidError:
        end_session("ended")
        return
    if saved.alert_ids:
        ks.support_pending = ks.support_shown = True
    if advance:
        nxt = kiosk.following_item(ks.ticket, prompt.administration_id, prompt.item_id)
        ks.item = (nxt.administration_id, nxt.item_id) if nxt is not None else None


def go_back(ks: state.KioskState, prompt: ItemPrompt | None, administration_id: int) -> None:
    if not activity(ks, touch=False):
        return
    if prompt is None:
        ks.item = ks.last_item
        return
    try:
        prev = kiosk.previous_item(ks.ticket, administration_id, prompt.item_id)
    except TicketInvalidError:
        end_session("ended")
        return
    ks.item = (prev.administration_id, prev.item_id)


def go_next(ks: state.KioskState, prompt: ItemPrompt) -> None:
    if not activity(ks, touch=False):
        return
    try:
        nxt = kiosk.following_item(ks.ticket, prompt.administration_id, prompt.item_id)
    except TicketInvalidError:
        end_session("ended")
        return
    ks.item = (nxt.administration_id, nxt.item_id) if nxt is not None else None


def finish_questionnaire(ks: state.KioskState, administration_id: int) -> None:
    if not activity(ks):
        return
    try:
        result = kiosk.complete(ks.ticket, administration_id)
    except TicketInvalidError:
        end_session("ended")
        return
    ks.item = ks.last_item = None
    ks.administration = None  # the next questionnaire (or the end): the whole page is drawn again
    if result.assignment_completed:
        ks.done = True
        st.query_params.clear()  # the ticket no longer works; nothing to resume


def option_buttons(ks: state.KioskState, prompt: ItemPrompt, *, advance: bool) -> None:
    # keyed by administration and item: a button of one question can never fire for another
    for k, option in enumerate(prompt.options):
        chosen = prompt.answered and prompt.current is not None and float(prompt.current) == float(option.value)
        st.button(("✓ " if chosen else "") + option.label, key=f"w_opt_{prompt.administration_id}_{prompt.item_id}_{k}",
                  type="primary" if chosen else "secondary", width="stretch",
                  on_click=save, args=(ks, prompt, option.value, advance))


def item_screen(ks: state.KioskState, administration_id: int) -> None:
    lang = language()
    wanted = ks.item[1] if ks.item is not None and ks.item[0] == administration_id else None
    try:
        prompt = kiosk.show_item(ks.ticket, administration_id, wanted, idle=cfg.kiosk_idle)
    except NotFoundError:  # e.g. an answer closed the gate of the item asked for: the next unanswered one
        prompt = kiosk.show_item(ks.ticket, administration_id, None, idle=cfg.kiosk_idle)
    ks.item = (administration_id, prompt.item_id) if prompt is not None else None
    screen = f"item:{administration_id}:{prompt.item_id}" if prompt is not None else f"end:{administration_id}"
    run = begin_screen(screen)
    kiosk_ui.inject_direction(lang)
    if prompt is None:  # every question answered: change answers or continue
        progress(ks, administration_id, 1, 1, None)
        st.subheader(t("answered_all", lang))
        st.markdown(t("change_hint", lang))
        left, right = st.columns(2)
        left.button(t("back", lang), key=f"w_back_end_{administration_id}", width="stretch", on_click=go_back,
                    args=(ks, None, administration_id), disabled=ks.last_item is None)
        right.button(t("continue", lang), key=f"w_finish_questionnaire_{administration_id}", type="primary",
                     width="stretch", on_click=finish_questionnaire, args=(ks, administration_id))
        kiosk_input.screen_marker(screen, run)
        return
    progress(ks, administration_id, prompt.position - 1, prompt.total, prompt.position)
    ks.last_item = (administration_id, prompt.item_id)
    if prompt.instructions:
        st.caption(prompt.instructions)
    st.html(f'<div class="psy-item" data-testid="psy-item" data-item="{prompt.item_id}" '
            f'dir="{kiosk_ui.direction(prompt.language)}" lang="{_escape(prompt.language)}">'
            f'{_escape(prompt.text)}</div>')
    option_buttons(ks, prompt, advance=True)
    left, right = st.columns(2)
    here = f"{administration_id}_{prompt.item_id}"
    left.button(t("back", lang), key=f"w_back_{here}", width="stretch", disabled=prompt.position <= 1,
                on_click=go_back, args=(ks, prompt, administration_id))
    if prompt.answered:
        right.button(t("next", lang), key=f"w_next_{here}", width="stretch", on_click=go_next, args=(ks, prompt))
    else:
        right.button(t("skip", lang), key=f"w_skip_{here}", width="stretch", on_click=save,
                     args=(ks, prompt, None, True))
    kiosk_input.screen_marker(screen, run)


def page_screen(ks: state.KioskState, administration_id: int) -> None:
    """The whole questionnaire on one page; each tap is saved at once."""
    lang = language()
    prompts = kiosk.show_page(ks.ticket, administration_id, idle=cfg.kiosk_idle)
    run = begin_screen(f"page:{administration_id}")
    kiosk_ui.inject_direction(lang)
    answered = sum(p.answered for p in prompts)
    progress(ks, administration_id, answered, len(prompts), None)
    if prompts and prompts[0].instructions:
        st.caption(prompts[0].instructions)
    for p in prompts:
        st.html(f'<div class="psy-item" style="font-size:1.3rem" data-item="{p.item_id}" '
                f'dir="{kiosk_ui.direction(p.language)}" lang="{_escape(p.language)}">{p.position}. '
                f'{_escape(p.text)}</div>')
        option_buttons(ks, p, advance=False)
        st.divider()
    st.button(t("continue", lang), key=f"w_finish_questionnaire_{administration_id}", type="primary",
              width="stretch", on_click=finish_questionnaire, args=(ks, administration_id),
              disabled=answered < len(prompts))
    kiosk_input.screen_marker(f"page:{administration_id}", run)


@st.fragment
def questionnaire(administration_id: int) -> None:
    """The question area. A tap reruns only this fragment (no full page run); when the session ends or the
    questionnaire is finished the whole page is drawn again."""
    ks = state.kiosk()
    if ks is not None and ks.done:
        # The thank-you screen is drawn here, in the fragment, not by a full-app rerun started from it: with the
        # idle watch's timed fragment beside it, Streamlit sometimes dropped the first element of a full run
        # that replaced this fragment's screen (seen in Chromium: the screen's begin marker went missing, so
        # the tap guard never saw the new screen). Reloads draw it in the full run below.
        completion_screen(ks)
        return
    if ks is None or ks.administration != administration_id:
        st.rerun(scope="app")
    assert ks is not None
    try:
        if ks.support_pending:
            support_screen(ks)
        elif ks.layout == "page":
            page_screen(ks, administration_id)
        else:
            item_screen(ks, administration_id)
    except TicketInvalidError:
        end_session("ended")
        st.rerun(scope="app")


# -- render ----------------------------------------------------------------------------------------------------
if ks is None:
    code_screen()
    st.markdown(f"<div style='text-align:right;font-size:0.9rem'><a href='login' target='_self'>"
                f"{t('staff', language())}</a></div>", unsafe_allow_html=True)
    st.stop()

idle_watch()
if ks.done:
    completion_screen(ks)
    st.stop()
try:
    session = kiosk.resume(ks.ticket)
except TicketInvalidError:
    end_session("ended")
    st.rerun()
state.show_flash()
current = next((a for a in session.administrations if a.status in ("pending", "in_progress")), None)
if current is not None and kiosk_ui.shipped(current.language):
    st.session_state[LANGUAGE] = current.language
if not ks.started or session.consent_needed:
    welcome_screen(ks, session)
    st.stop()
if current is None:  # nothing left (e.g. the last questionnaire was cancelled by staff)
    ks.done = True
    st.rerun()
ks.administrations = tuple(a.id for a in session.administrations if a.status != "cancelled")
ks.administration = current.id
questionnaire(current.id)
