"""Word lists the detector uses: given and family names (faker's locale providers' lists,
written out beside this module) and common medications. Offline, deterministic, no model
download.

The name lists are ``given_names.txt`` and ``family_names.txt`` (one lower-cased name a line,
sorted), made from the installed faker by ``python -m ferry.phi.lexicon``. faker is not
pinned: ``tests/phi/test_lexicon.py`` fails when its lists differ from the files (the sandbox
practices' names, made by faker, would then drift from the detector's), and the command
writes them again; meanwhile a faker upgrade does not change what the detector flags.
Reading the files costs a few milliseconds; reading faker cost every process that screens a
text ~0.13 CPU-s (importing ``faker`` scans its package for locales, then 18 locale modules
of literals).
"""

from __future__ import annotations

import importlib
from functools import cache
from pathlib import Path

NAME_LOCALES = ("en_GB", "en_US", "en_AU", "en_IE", "en_NZ", "en_CA", "nl_NL", "es_ES", "es_MX",
                "de_DE", "fr_FR", "it_IT", "pt_PT", "pt_BR", "en_IN", "hi_IN", "pl_PL", "sv_SE")

# Generic names of frequently prescribed medicines (WHO essential list and top-prescribed lists,
# written out here in lower case). A brand name is caught by its dose ("… 20 mg") instead.
MEDICATIONS = frozenset("""
acetaminophen paracetamol ibuprofen naproxen diclofenac aspirin celecoxib meloxicam tramadol
codeine morphine oxycodone hydrocodone fentanyl buprenorphine methadone gabapentin pregabalin
amitriptyline nortriptyline duloxetine venlafaxine sertraline fluoxetine citalopram escitalopram
paroxetine mirtazapine bupropion trazodone quetiapine olanzapine risperidone aripiprazole
haloperidol lithium lamotrigine levetiracetam valproate carbamazepine topiramate phenytoin
diazepam lorazepam alprazolam clonazepam zolpidem zopiclone melatonin methylphenidate
atomoxetine donepezil memantine levodopa carbidopa ropinirole pramipexole sumatriptan
rizatriptan propranolol metoprolol atenolol bisoprolol carvedilol nebivolol amlodipine
nifedipine diltiazem verapamil lisinopril enalapril ramipril perindopril losartan valsartan
candesartan irbesartan olmesartan telmisartan hydrochlorothiazide chlorthalidone indapamide
furosemide bumetanide spironolactone eplerenone digoxin amiodarone sotalol flecainide
warfarin apixaban rivaroxaban dabigatran edoxaban heparin enoxaparin clopidogrel ticagrelor
prasugrel atorvastatin simvastatin rosuvastatin pravastatin ezetimibe fenofibrate metformin
gliclazide glipizide glimepiride sitagliptin linagliptin empagliflozin dapagliflozin
canagliflozin liraglutide semaglutide dulaglutide pioglitazone insulin levothyroxine
liothyronine carbimazole propylthiouracil prednisolone prednisone dexamethasone
hydrocortisone methylprednisolone budesonide fluticasone beclometasone salbutamol albuterol
salmeterol formoterol tiotropium ipratropium montelukast theophylline cetirizine loratadine
fexofenadine chlorphenamine promethazine omeprazole esomeprazole lansoprazole pantoprazole
rabeprazole ranitidine famotidine metoclopramide domperidone ondansetron loperamide
mesalazine lactulose macrogol senna bisacodyl docusate amoxicillin ampicillin flucloxacillin
penicillin phenoxymethylpenicillin cephalexin cefalexin cefuroxime ceftriaxone azithromycin
clarithromycin erythromycin doxycycline minocycline tetracycline ciprofloxacin levofloxacin
moxifloxacin nitrofurantoin trimethoprim sulfamethoxazole metronidazole clindamycin
vancomycin gentamicin linezolid fluconazole itraconazole terbinafine nystatin clotrimazole
acyclovir aciclovir valacyclovir valaciclovir oseltamivir tenofovir emtricitabine
lamivudine zidovudine abacavir dolutegravir efavirenz methotrexate hydroxychloroquine
sulfasalazine leflunomide azathioprine mycophenolate tacrolimus ciclosporin cyclosporine
adalimumab etanercept infliximab allopurinol febuxostat colchicine alendronate risedronate
zoledronate denosumab calcium colecalciferol cholecalciferol ergocalciferol vitamin folic
ferrous iron cyanocobalamin tamsulosin finasteride dutasteride oxybutynin solifenacin
mirabegron sildenafil tadalafil estradiol progesterone medroxyprogesterone norethisterone
levonorgestrel ethinylestradiol tamoxifen letrozole anastrozole exemestane isotretinoin
tretinoin clobetasol betamethasone mometasone hydroxyzine naloxone naltrexone nicotine
varenicline disulfiram acamprosate epinephrine adrenaline glucagon
""".split())


#: the name lists' files (``python -m ferry.phi.lexicon`` writes them)
NAME_FILES = {"given": Path(__file__).with_name("given_names.txt"),
              "family": Path(__file__).with_name("family_names.txt")}


@cache
def given_names() -> frozenset[str]:
    """Given names of many locales, lower-cased; the detector's net for names it cannot tie
    to the record's own people."""
    return _read(NAME_FILES["given"])


@cache
def family_names() -> frozenset[str]:
    return _read(NAME_FILES["family"])


def _read(path: Path) -> frozenset[str]:
    return frozenset(path.read_text(encoding="utf-8").split("\n")[:-1])


def from_faker(kind: str) -> frozenset[str]:
    """The ``kind`` ("given" or "family") names of ``NAME_LOCALES`` as the installed faker
    has them, lower-cased, those of three letters or more: what the files hold."""
    attrs = ("first_names", "first_names_female", "first_names_male") if kind == "given" \
        else ("last_names",)
    names: set[str] = set()
    for loc in NAME_LOCALES:
        try:
            mod = importlib.import_module(f"faker.providers.person.{loc}")
        except ImportError:
            continue
        for attr in attrs:
            value = getattr(mod.Provider, attr, ())
            names.update(str(n).lower() for n in (value.keys() if isinstance(value, dict)
                                                   else value))
    return frozenset(n for n in names if len(n) > 2)


def write_name_files() -> None:
    for kind, path in NAME_FILES.items():
        path.write_text("".join(f"{n}\n" for n in sorted(from_faker(kind))), encoding="utf-8")


if __name__ == "__main__":
    write_name_files()
