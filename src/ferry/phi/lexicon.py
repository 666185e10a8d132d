"""Word lists the detector uses: given names (from faker's locale providers, read once) and
common medications. Offline, deterministic, no model download."""

from __future__ import annotations

import importlib
from functools import cache

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


@cache
def given_names() -> frozenset[str]:
    """Given names of many locales, lower-cased; the detector's net for names it cannot tie
    to the record's own people."""
    names: set[str] = set()
    for loc in NAME_LOCALES:
        try:
            mod = importlib.import_module(f"faker.providers.person.{loc}")
        except ImportError:
            continue
        provider = mod.Provider
        for attr in ("first_names", "first_names_female", "first_names_male"):
            value = getattr(provider, attr, ())
            names.update(str(n).lower() for n in (value.keys() if isinstance(value, dict)
                                                   else value))
    return frozenset(n for n in names if len(n) > 2)


@cache
def family_names() -> frozenset[str]:
    names: set[str] = set()
    for loc in NAME_LOCALES:
        try:
            mod = importlib.import_module(f"faker.providers.person.{loc}")
        except ImportError:
            continue
        value = getattr(mod.Provider, "last_names", ())
        names.update(str(n).lower() for n in (value.keys() if isinstance(value, dict)
                                               else value))
    return frozenset(n for n in names if len(n) > 2)
