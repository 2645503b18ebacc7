"""The fault run's leak scan finds what it looks for, in any written form, and nothing in clean text."""

from __future__ import annotations

from benchmarks.faults.hostile import metadata_line
from harness.leaks import scan_report

LITERALS = {"admin token": "faults-admin-token-Tk8wB"}


def test_the_scan_finds_phones_e_mails_and_secrets() -> None:
    texts = {
        "worker-0": "dead letter from call-started: caller +1 (415) 555-0123 invalid\n"
        "forwarded Bearer faults-admin-token-Tk8wB\n",
        "dead-letter metadata": '{"reason": "bad key 4150000123", "topic": "t"}\n{"reason": "c123@example.com"}',
    }
    report = scan_report(texts, LITERALS)
    assert report["leaks"] == {
        "phone number in worker-0": 1,
        "admin token in worker-0": 1,
        "phone number in dead-letter metadata": 1,
        "e-mail in dead-letter metadata": 1,
    }
    assert len(report["examples"]) == 4


def test_hashed_keys_ids_and_timestamps_are_no_leak() -> None:
    clean = {
        "worker-0": "[2026-11-27 01:13:16,279] lookup phone#3f9a1c2b7d4e took 41.5 ms; request w4150000123abcd "
        "offset 14155550123456 partition 3 customer C-004150\n"
    }
    report = scan_report(clean, LITERALS)
    assert report["leaks"] == {} and report["scanned"]["worker-0"] == {"lines": 1, "bytes": len(clean["worker-0"])}


def test_escaped_encoded_and_glued_forms_are_found() -> None:
    texts = {
        "log": "value\\n4155550123 and caller_+14155550124 asked for c1%40example.com?q=%2B14155550125\n",
    }
    report = scan_report(texts, LITERALS)
    assert report["leaks"] == {
        "phone number in log": 2,
        "phone number in log (URL-decoded)": 3,
        "e-mail in log (URL-decoded)": 1,
    }


def test_a_version_pin_is_no_e_mail() -> None:
    assert scan_report({"log": "installed aiohttp@3.14.5 and pkg@3.39.0\n"}, LITERALS)["leaks"] == {}


def test_a_dead_letter_s_fields_do_not_run_into_a_phone_number() -> None:
    # Seen in a run: received_at 1795747744.1415424 followed by original_size 1244, joined by a space.
    letter = {
        "reason": "message: Invalid JSON at line 1 column 244",
        "topic": "customer-changed-de3831",
        "partition": 14,
        "offset": 727,
        "received_at": 1795747744.1415424,
        "original_b64": "e30=",
        "original_size": 1244,
        "truncated": False,
    }
    clean = metadata_line(letter, [("kafka_correlationId", b"h-12")])
    assert "e30=" not in clean and "kafka_correlationId=h-12" in clean
    assert scan_report({"dead-letter metadata": clean}, LITERALS)["leaks"] == {}
    leaky = metadata_line({**letter, "reason": "caller +1 415 555 0123 is no key"}, [])
    assert scan_report({"dead-letter metadata": leaky}, LITERALS)["leaks"] == {
        "phone number in dead-letter metadata": 1
    }
