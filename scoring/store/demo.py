"""A demo clinic with synthetic patients: every name, date and answer here is invented.

``seed_demo`` creates an admin, two therapists and a researcher (known demo passwords), about 20 patients with 3–12
months of fortnightly PHQ-9 and GAD-7, monthly WHO-5, and DASS-21 or PCL-5 for some. Answers are drawn
item by item from one latent severity trajectory per patient (improving, stable, deteriorating or
relapse), so instruments agree with each other; about 2% of answers are skipped. Item 9 of the PHQ-9 is
endorsed only at high severity, which raises alerts: recent ones stay open, older ones are resolved.
Therapist events and due or overdue recurring assignments complete the picture. A fixed seed makes the
clinic the same on every run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import numpy as np

from scoring.definitions.library import Library
from scoring.store.audit import Actor
from scoring.store.clinic import Clinic
from scoring.store.db import Store
from scoring.store.security import password_hasher

DEMO_SEED = 20250301
DEMO_PASSWORDS = {"admin": "demo-admin-password", "dr.lee": "demo-therapist-lee", "dr.novak": "demo-therapist-novak",
                  "research": "demo-researcher"}
TRAJECTORIES = ("improving", "stable", "deteriorating", "relapse")
FIRST = ("Alex", "Sam", "Robin", "Kim", "Jo", "Maria", "Jonas", "Lea", "Noah", "Mia", "Elias", "Hannah", "Luca",
         "Emma", "Ben", "Sofia", "Paul", "Clara", "Finn", "Ida", "Theo", "Nora")
LAST = ("Example", "Sample", "Demo", "Muster", "Placeholder", "Fictional", "Testperson", "Synthetic", "Invented")


@dataclass
class DemoSummary:
    """What the demo created (passwords are the demo ones: never use them for real accounts)."""

    users: dict[str, str] = field(default_factory=dict)
    patients: int = 0
    administrations: int = 0
    open_alerts: int = 0
    events: int = 0
    assignments: int = 0
    kiosk_code: str = ""


class _Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def severity_path(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """Latent severity (0 = well, 1 = very ill) at ``n`` visits for a trajectory kind."""
    t = np.linspace(0.0, 1.0, n)
    start = rng.uniform(0.55, 0.85)
    if kind == "improving":
        end = rng.uniform(0.12, 0.3)
        base = end + (start - end) * np.exp(-3.0 * t)
    elif kind == "stable":
        base = np.full(n, rng.uniform(0.3, 0.6))
    elif kind == "deteriorating":
        start = rng.uniform(0.25, 0.45)
        base = start + (rng.uniform(0.7, 0.9) - start) * t
    else:  # relapse: improves, then worsens again in the last third
        low = rng.uniform(0.15, 0.3)
        base = np.where(t < 0.6, low + (start - low) * np.exp(-5.0 * t), low + (t - 0.6) * 1.4)
    return np.clip(base + rng.normal(0, 0.05, n), 0.02, 0.98)


def _items(values: np.ndarray, k: int, rng: np.random.Generator, offsets: np.ndarray) -> list[int | None]:
    """Item answers 0..k-1 around ``values`` (latent severity per item), about 2% skipped."""
    raw = np.clip(values + offsets + rng.normal(0, 0.12, len(offsets)), 0, 1) * (k - 1)
    answers = np.clip(np.rint(raw + rng.normal(0, 0.35, len(offsets))), 0, k - 1).astype(int)
    skipped = rng.random(len(offsets)) < 0.02
    return [None if s else int(a) for a, s in zip(answers, skipped, strict=True)]


def _answers(instrument: str, lib: Library, dep: float, anx: float, trauma: float, rng: np.random.Generator
             ) -> dict[str, int | None]:
    ids = lib[instrument].plan.item_ids
    if instrument == "phq9":
        offsets = np.array([0.05, 0.08, 0.1, 0.12, 0.0, 0.02, 0.0, -0.15, -0.45])
        values = _items(np.full(9, dep), 4, rng, offsets)
        return dict(zip(ids, [*values, _items(np.array([dep]), 4, rng, np.array([-0.15]))[0]], strict=True))
    if instrument == "gad7":
        return dict(zip(ids, _items(np.full(7, anx), 4, rng, np.linspace(0.08, -0.1, 7)), strict=True))
    if instrument == "who5":
        answers = _items(np.full(5, 1.0 - (dep * 0.8 + anx * 0.2)), 6, rng, np.zeros(5))
        return dict(zip(ids, answers, strict=True))
    if instrument == "pcl5":
        return dict(zip(ids, _items(np.full(20, trauma), 5, rng, np.linspace(0.05, -0.1, 20)), strict=True))
    if instrument == "dass21":
        scales = {s.id: set(s.items) for s in lib["dass21"].instrument.scales}
        level = [dep if i in scales.get("depression", ()) else anx if i in scales.get("anxiety", ())
                 else (dep + anx) / 2 for i in ids]
        return dict(zip(ids, _items(np.array(level) - 0.1, 4, rng, np.zeros(len(ids))), strict=True))
    raise ValueError(instrument)


def seed_demo(store: Store, library: Library, *, seed: int = DEMO_SEED, patients: int = 20,
              today: date | None = None, fast_hashes: bool = False,
              progress: Callable[[str], None] | None = None) -> DemoSummary:
    """Seed a demo clinic into an empty store (see the module docstring). Returns what was created."""
    rng = np.random.default_rng(seed)
    today = today or store.now().date()
    end = datetime.combine(today, time(9, 0), tzinfo=UTC)
    clock = _Clock(end - timedelta(days=400))
    demo_store = Store(store.url.render_as_string(hide_password=False), clock=clock)
    summary = DemoSummary()
    try:
        clinic = Clinic(demo_store, library, hasher=password_hasher(fast=fast_hashes))
        system = Actor.system("demo")
        admin = clinic.users.add(system, "admin", "admin", DEMO_PASSWORDS["admin"]).actor
        therapists = [clinic.users.add(system, n, "therapist", DEMO_PASSWORDS[n]).actor for n in ("dr.lee", "dr.novak")]
        clinic.users.add(system, "research", "researcher", DEMO_PASSWORDS["research"])  # de-identified export only
        clinic.catalogue.apply_licence_defaults(system)  # a new clinic: non-commercial instruments start off,
        for instrument_id in ("who5", "dass21"):  # the demo (synthetic, non-commercial use) enables the two it uses
            clinic.catalogue.set_enabled(admin, instrument_id, True)
        summary.users = dict(DEMO_PASSWORDS)
        clinic.batteries.add(admin, "Depression and anxiety follow-up", ["phq9", "gad7"],
                             instructions="Please answer every question about the last two weeks.",
                             consent_text="Demo consent: my answers are stored for my treatment and seen by my "
                                          "care team.")
        clinic.batteries.add(admin, "Wellbeing", ["who5"])
        plans = []
        for k in range(patients):
            kind = TRAJECTORIES[k % len(TRAJECTORIES)]
            months = int(rng.integers(3, 13))
            visits = int(np.ceil(months * 30.5 / 14)) + 1  # fortnightly over `months` months
            trauma = bool(rng.random() < 0.3)
            dass = bool(not trauma and rng.random() < 0.5)
            dob = date(int(rng.integers(1950, 2005)), int(rng.integers(1, 13)), int(rng.integers(1, 29)))
            name = f"{FIRST[k % len(FIRST)]} {LAST[int(rng.integers(0, len(LAST)))]}"
            start = end - timedelta(days=14 * visits + int(rng.integers(0, 10)))
            plans.append((k, kind, visits, trauma, dass, dob, name, start))
        for k, kind, visits, trauma, dass, dob, name, start in plans:
            therapist = therapists[k % 2]
            clock.now = start - timedelta(days=3)
            pid = clinic.patients.add(therapist, name, date_of_birth=dob, sex=("female", "male")[k % 2] if k % 7
                                      else "other", contact=f"demo-patient-{k + 1:02d}@example.invalid",
                                      email=f"demo-patient-{k + 1:02d}@example.invalid",
                                      external_id=f"DEMO-{k + 1:04d}")
            summary.patients += 1
            clinic.patients.add_event(therapist, pid, start.date(), "Intake; started CBT")
            summary.events += 1
            dep = severity_path(kind, visits, rng)
            anx = np.clip(dep * rng.uniform(0.7, 1.1) + rng.normal(0, 0.05, visits), 0.02, 0.98)
            trauma_path = np.clip(dep + rng.uniform(0.0, 0.15), 0.02, 0.98)
            for v in range(visits):
                if 0 < v < visits - 1 and rng.random() < 0.08:
                    continue  # a missed session
                when = start + timedelta(days=14 * v, hours=int(rng.integers(0, 8)))
                clock.now = when
                instruments = ["phq9", "gad7"]
                if v % 2 == 0:
                    instruments.append("who5")
                    if trauma:
                        instruments.append("pcl5")
                    elif dass:
                        instruments.append("dass21")
                for instrument in instruments:
                    answers = _answers(instrument, library, float(dep[v]), float(anx[v]), float(trauma_path[v]), rng)
                    clinic.administrations.record(therapist, pid, instrument, answers, administered_at=when)
                    summary.administrations += 1
                if v == visits // 2 and kind in ("improving", "relapse") and rng.random() < 0.6:
                    clinic.patients.add_event(therapist, pid, when.date(), "Medication started (demo)")
                    summary.events += 1
                if kind == "relapse" and v == int(visits * 0.65):
                    clinic.patients.add_event(therapist, pid, when.date(), "Life event: job loss (demo)")
                    summary.events += 1
            clock.now = end - timedelta(days=1)
            for alert in clinic.alerts.list(therapist, patient_id=pid):
                if alert.raised_at < end - timedelta(days=21):
                    clinic.alerts.resolve(therapist, alert.id, "Demo: risk assessed, safety plan reviewed.")
            due = today + timedelta(days=int(rng.integers(-10, 15)))
            clinic.assignments.assign(therapist, pid, battery="Depression and anxiety follow-up", due=due,
                                      every=timedelta(weeks=2), expires_in=timedelta(days=30))
            summary.assignments += 1
            if progress is not None:
                progress(f"patient {k + 1}/{patients}: {kind}, {visits} visits")
        clock.now = end
        first = clinic.patients.caseload(therapists[0])[0].id
        summary.kiosk_code = clinic.assignments.assign(therapists[0], first, battery="Wellbeing",
                                                       expires_in=timedelta(days=7)).code
        summary.assignments += 1
        summary.open_alerts = len([a for a in clinic.alerts.list(admin) if a.status == "open"])
    finally:
        demo_store.close()
    return summary
