"""The contraindication rule table: one row per question, one verdict per method. Data only.

Sources: the contraindications listed in the article the product is built on (exhaustion,
intoxication, radiotherapy or corticosteroids, ischaemic heart disease with ECG changes,
severe kidney or liver insufficiency, convulsions, coagulation disorders or anticoagulants)
and WHO, *Guidelines on basic training and safety in acupuncture* (1999), section 3
(pregnancy, implanted electronic devices with electrical stimulation, malignant tumours).
The wording is for patients: it says what to do, never what they have.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

Verdict = Literal["ok", "caution", "clearance", "not_method", "not_today"]

# Least to most restrictive. "Not this method" outranks "not today": it is still true tomorrow.
VERDICTS: tuple[Verdict, ...] = ("ok", "caution", "clearance", "not_today", "not_method")

VERDICT_LABELS: MappingProxyType[str, str] = MappingProxyType({
    "ok": "OK",
    "caution": "Caution — tell the practitioner",
    "clearance": "Ask your doctor first",
    "not_today": "Not today",
    "not_method": "Not this method",
})

VERDICT_EXPLANATIONS: MappingProxyType[str, str] = MappingProxyType({
    "ok": "Nothing you ticked stands in the way of this method.",
    "caution": "You can usually go ahead; tell the practitioner about it before the session so they can adapt it.",
    "clearance": "Ask your doctor before booking; they can refer you to a practitioner with a note.",
    "not_today": "Not today: book for another day, when this no longer applies.",
    "not_method": "Choose a different method; this one is not suitable for you.",
})

# Every method slug in the vocabulary (directory/practitioners/data/vocabulary.json).
METHODS: tuple[str, ...] = (
    "filiform-needling", "electroacupuncture", "moxibustion", "tui-na", "cupping", "auricular", "acupressure",
    "laser-acupuncture", "scalp-acupuncture", "gua-sha",
)
NEEDLES = ("filiform-needling", "electroacupuncture", "auricular", "scalp-acupuncture")


@dataclass(frozen=True)
class Rule:
    """One question and what a "yes" means for each method (methods not listed: ``default``)."""

    key: str
    question: str
    meaning: str
    default: Verdict
    per_method: MappingProxyType[str, Verdict]

    def verdict_for(self, method: str) -> Verdict:
        """Return this rule's verdict for ``method`` when the patient answered yes."""
        return self.per_method.get(method, self.default)


def _rule(key: str, question: str, meaning: str, default: Verdict, **per_method: Verdict) -> Rule:
    """Build a row; keyword names are method slugs with "_" for "-"."""
    overrides = {name.replace("_", "-"): verdict for name, verdict in per_method.items()}
    return Rule(key, question, meaning, default, MappingProxyType(overrides))


RULES: tuple[Rule, ...] = (
    _rule("exhaustion", "Are you exhausted today, or have you not eaten for many hours?",
          "Treatment on an empty stomach or when worn out makes fainting more likely.",
          "not_today", acupressure="caution", laser_acupuncture="caution"),
    _rule("intoxication", "Have you had alcohol or recreational drugs in the last 12 hours?",
          "Alcohol and drugs change how you react to treatment and how well you can tell the practitioner "
          "what you feel.", "not_today"),
    _rule("radiotherapy_steroids",
          "Are you having radiotherapy (or had it in the last 3 months), or taking corticosteroid tablets "
          "or injections?",
          "Treated skin heals slowly and steroids lower your resistance to infection, so needles, suction, "
          "scraping and heat need your doctor's agreement.",
          "clearance", tui_na="caution", acupressure="caution", laser_acupuncture="caution"),
    _rule("heart_disease", "Do you have heart disease (angina or a past heart attack) with an abnormal ECG?",
          "Strong stimulation can strain the heart; electrical stimulation is not used.",
          "clearance", electroacupuncture="not_method", moxibustion="caution", tui_na="caution",
          acupressure="caution", laser_acupuncture="caution"),
    _rule("kidney_liver", "Have you been told you have severe kidney or liver failure (insufficiency)?",
          "These can make you bleed or bruise easily and heal slowly.",
          "clearance", moxibustion="caution", tui_na="caution", acupressure="caution", laser_acupuncture="caution"),
    _rule("seizures", "Have you ever had seizures (convulsions or epilepsy)?",
          "The practitioner should know, stay with you during the session, and avoid electrical stimulation.",
          "caution", electroacupuncture="not_method", acupressure="ok"),
    _rule("bleeding", "Do you have a bleeding or clotting disorder, or take blood thinners (anticoagulants)?",
          "Needles, suction and scraping can cause bleeding or large bruises; gentle methods only need care.",
          "clearance", moxibustion="caution", tui_na="caution", acupressure="caution", laser_acupuncture="ok"),
    _rule("pregnancy", "Are you pregnant, or could you be?",
          "Some points and strong stimulation are avoided in pregnancy; electrical stimulation is not used.",
          "caution", electroacupuncture="not_method"),
    _rule("implanted_device", "Do you have a pacemaker, defibrillator or other implanted electronic device?",
          "Electrical stimulation can interfere with the device; other methods are unaffected.",
          "ok", electroacupuncture="not_method"),
    _rule("cancer", "Do you have cancer, or are you being treated for it?",
          "Treatment near a tumour is avoided, and cancer treatment can affect bleeding and infection risk.",
          "clearance", acupressure="caution"),
)

RULES_BY_KEY: MappingProxyType[str, Rule] = MappingProxyType({rule.key: rule for rule in RULES})
