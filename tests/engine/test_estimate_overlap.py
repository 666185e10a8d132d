"""How ``ferry estimate`` adds a step's CPU to its pacing (the model alone, no sandbox).

A paced client holds each call until its slot, counted from the previous call's start
(``connectors.ratelimit.Pacer``): CPU spent between two calls runs inside that wait. Only the
CPU at a step's edges (start-up before its first call, reports after its last) comes on top.
Priced as the sum, the calibrated test's Odoo prepare was estimated at 3.9 s where it took
2.9 s (its 30 calls at 0.1 s each, 0.05 of its 0.14 CPU-s before the first call).
"""

from __future__ import annotations

from dataclasses import replace

from ferry.engine.estimate import ANSWER_GAIN, DESTINATIONS, _step_time, contention

ODOO = DESTINATIONS["odoo"]  # 1 call/s, one call per slot: at time-scale 10, 0.1 s a call


def test_cpu_between_paced_calls_hides_in_their_waits() -> None:
    # 0.5 CPU-s a step, 0.05 of it at the edges; at a full core the 0.45 CPU-s between 30
    # calls is 15 ms a call, well inside each 0.1 s slot
    lim = replace(ODOO, cpu={"prepare": (0.5, 0.0, 0.05)}, answer={})
    share, k = 1.0, contention(1.0)
    wall, paced, cpu, bound = _step_time("prepare", 30, lim, 1, 10.0, share)
    assert bound == "rate"
    assert abs(paced - 2.9) < 1e-9  # 29 waits of 0.1 s between 30 calls
    # the pacing, the edges and the last call's CPU, not the pacing plus all the CPU
    last = (0.5 - 0.05) * k / 30 / share
    assert abs(wall - (paced + 0.05 * k / share + last)) < 1e-9
    assert paced + cpu / share - wall > 0.25  # the sum: 0.28 s more


def test_cpu_beyond_the_pace_sets_the_time() -> None:
    # the same step at a twentieth of a core: 0.3 s of CPU between calls, 3 slots' worth, so
    # the waits are all spent and the CPU alone sets the time (edges included)
    lim = replace(ODOO, cpu={"prepare": (0.5, 0.0, 0.05)}, answer={})
    share = 0.05
    wall, paced, cpu, bound = _step_time("prepare", 30, lim, 1, 10.0, share)
    assert bound == "cpu"
    assert abs(wall - cpu / share) < 1e-6
    assert wall > paced


def test_without_edges_the_fixed_cpu_runs_before_the_calls() -> None:
    # a system measured without the split (two figures): all of its fixed CPU is start-up,
    # on top of the pacing, as before
    lim = replace(ODOO, cpu={"prepare": (0.5, 0.0)}, answer={})
    wall, paced, cpu, _ = _step_time("prepare", 30, lim, 1, 10.0, 1.0)
    assert abs(wall - (paced + cpu)) < 1e-9


def test_the_answers_cpu_runs_at_the_answering_threads_share() -> None:
    # the threads that answer the step's (a sandbox in this process, upload lanes) wake for
    # each call and are given more of a core than the step's thread: an unpaced step whose
    # thread got 0.07 of a core while a busy loop got 0.14 (load 13) is priced with each
    # CPU at its own share, not all of it at the step thread's; and as they sleep between
    # calls, at ANSWER_GAIN times the busy loop's share (Salesforce's sandbox, load 5-10)
    lim = replace(ODOO, rps=None, cpu={"load": (0.1, 0.0, 0.1)}, answer={"load": (0.0, 0.01)})
    wall, _, cpu, _ = _step_time("load", 10, lim, 1, 1.0, 0.07, answer_share=0.14)
    k = contention(0.07)
    assert abs(wall - (0.1 * k / 0.07 + 10 * 0.01 * k / (ANSWER_GAIN * 0.14))) < 1e-9
    wall, _, _, _ = _step_time("load", 10, lim, 1, 1.0, 0.07, answer_share=0.8)
    assert abs(wall - (0.1 * k / 0.07 + 10 * 0.01 * k / 1.0)) < 1e-9  # a core at most
    assert abs(cpu - 0.2 * k) < 1e-9


def test_a_salesforce_rollbacks_records_are_priced_apart_from_its_calls() -> None:
    # a 20-patient rollback is its field deletes (177 calls, 233 records) and a 600-patient
    # one mostly records (251 calls, 7,950 records in collections of 100): one unit for both
    # priced the larger at 15 CPU-s and 25 s where its threads took 2.9 CPU-s and 6.2 s at a
    # share of 0.41 (bench/estimate_calibration.py --patients 600, 7 December, load 8)
    sf = DESTINATIONS["salesforce"]
    wall, _, cpu, _ = _step_time("rollback", 251, sf, 1, 1.0, 0.41, records=7950)
    assert abs(cpu - 2.93) / 2.93 < 0.25 and abs(wall - 6.22) / 6.22 < 0.25
    # a record costs less than a call; a destination without the split prices both alike
    small, _, _, _ = _step_time("rollback", 177, sf, 1, 1.0, 0.41, records=233)
    more_calls, _, _, _ = _step_time("rollback", 177 + 233, sf, 1, 1.0, 0.41, records=0)
    assert small < more_calls
    # and its reconcile (83 calls, 7,950 records read back: 2.0 CPU-s, 6.2 s at 0.28, where
    # one unit priced 3.7 CPU-s and 11.2 s)
    # (measured with the sandbox in Ferry's process, before ``QUIET_CPU``, and not since at
    # 600 patients with it apart: 7.9 s estimated now, +29 %)
    wall, _, cpu, _ = _step_time("reconcile", 83, sf, 1, 1.0, 0.28, records=7950)
    assert abs(wall - 6.17) / 6.17 < 0.35
    odoo_a = _step_time("rollback", 10, ODOO, 1, 10.0, 0.41, records=5)[2]
    odoo_b = _step_time("rollback", 15, ODOO, 1, 10.0, 0.41, records=0)[2]
    assert abs(odoo_a - odoo_b) < 1e-9


def test_the_samples_selection_is_priced_by_the_staged_store() -> None:
    # ``ferry sample`` reads every staged record to pick its slice: at 600 patients 2 s went
    # before its first call where 0.3-0.7 at 20 (Salesforce, 4.5 s for 1.3 estimated); the
    # same slice from a store thirty times larger takes longer by that scan at the share
    from ferry.engine.estimate import SCAN_CPU, SCAN_FIT, SOURCES, estimate

    def sample_s(patients: int) -> float:
        counts = {"patient": patients, "appointment": 25 * patients}
        out = estimate(counts, source=SOURCES["practicehub"], destination=DESTINATIONS[
            "salesforce"], sample_counts={"patient": 20, "appointment": 40}, cpu_share=0.3)
        return next(s["seconds"] for s in out["steps"] if s["step"] == "sample")

    grown = sample_s(600) - sample_s(20)
    assert abs(grown - (600 * 26 - SCAN_FIT) * SCAN_CPU * contention(0.3) / 0.3) < 0.1
    assert grown > 1.0
