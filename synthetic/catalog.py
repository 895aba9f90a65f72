"""The clinical vocabulary of the synthetic records: CIE-10 diagnoses of the case mix, medicines (WHO ATC),
laboratory tests (LOINC, UCUM), imaging studies and the vaccines of the national immunization programme
(Programa Ampliado de Inmunizaciones, PAI; CVX codes).

Weights are per year of the data window and are rough orders of magnitude of what a Honduran public
facility sees (respiratory infections and diarrhoea in children, dengue in the rainy season, trauma in
young men, hypertension and diabetes rising with age, pregnancy care); they shape the demo and the
benchmarks, they are not epidemiology.
"""

from __future__ import annotations

from dataclasses import dataclass

ATC = "http://www.whocc.no/atc"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
REPORT_CATEGORY = "http://terminology.hl7.org/CodeSystem/v2-0074"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"


@dataclass(frozen=True)
class Drug:
    atc: str
    text: str
    dosage: str


DRUGS = {
    "enalapril": Drug("C09AA02", "Enalapril 10 mg tableta", "Una tableta cada 12 horas"),
    "losartan": Drug("C09CA01", "Losartán 50 mg tableta", "Una tableta al día"),
    "hctz": Drug("C03AA03", "Hidroclorotiazida 25 mg tableta", "Una tableta cada mañana"),
    "amlodipino": Drug("C08CA01", "Amlodipino 5 mg tableta", "Una tableta al día"),
    "metformina": Drug("A10BA02", "Metformina 850 mg tableta", "Una tableta cada 12 horas con las comidas"),
    "glibenclamida": Drug("A10BB01", "Glibenclamida 5 mg tableta", "Una tableta antes del desayuno"),
    "insulina": Drug("A10AC01", "Insulina humana NPH 100 UI/mL", "20 UI subcutáneas antes del desayuno y 10 UI "
                     "antes de la cena"),
    "acetaminofen": Drug("N02BE01", "Acetaminofén 500 mg tableta", "Una tableta cada 6 horas si hay fiebre o "
                         "dolor, por 3 días"),
    "acetaminofen-jarabe": Drug("N02BE01", "Acetaminofén 120 mg/5 mL jarabe", "5 mL cada 6 horas si hay fiebre, "
                                "por 3 días"),
    "amoxicilina": Drug("J01CA04", "Amoxicilina 500 mg cápsula", "Una cápsula cada 8 horas por 7 días"),
    "amoxicilina-susp": Drug("J01CA04", "Amoxicilina 250 mg/5 mL suspensión", "5 mL cada 8 horas por 7 días"),
    "sro": Drug("A07CA", "Sales de rehidratación oral, sobre", "Un sobre en un litro de agua; beber a libre "
                "demanda después de cada evacuación"),
    "zinc": Drug("A12CB01", "Sulfato de zinc 20 mg tableta dispersable", "Una tableta al día por 10 días"),
    "ibuprofeno": Drug("M01AE01", "Ibuprofeno 400 mg tableta", "Una tableta cada 8 horas con comida, por 5 días"),
    "nitrofurantoina": Drug("J01XE01", "Nitrofurantoína 100 mg cápsula", "Una cápsula cada 12 horas por 5 días"),
    "sulfato-ferroso": Drug("B03AA07", "Sulfato ferroso 300 mg tableta", "Una tableta al día"),
    "acido-folico": Drug("B03BB01", "Ácido fólico 5 mg tableta", "Una tableta al día"),
    "salbutamol": Drug("R03AC02", "Salbutamol inhalador 100 mcg/dosis", "Dos inhalaciones cada 6 horas si hay "
                       "dificultad para respirar"),
    "mebendazol": Drug("P02CA01", "Mebendazol 500 mg tableta", "Una tableta, dosis única"),
    "omeprazol": Drug("A02BC01", "Omeprazol 20 mg cápsula", "Una cápsula en ayunas por 14 días"),
}


@dataclass(frozen=True)
class Lab:
    loinc: str
    text: str
    unit: str
    low: float  # range of values drawn for a normal result
    high: float
    decimals: int


LABS = {
    "hemoglobina": Lab("718-7", "Hemoglobina", "g/dL", 11.5, 15.5, 1),
    "hematocrito": Lab("4544-3", "Hematocrito", "%", 35.0, 46.0, 1),
    "leucocitos": Lab("6690-2", "Leucocitos", "10*3/uL", 4.5, 10.5, 1),
    "plaquetas": Lab("777-3", "Plaquetas", "10*3/uL", 160.0, 400.0, 0),
    "glucosa": Lab("2345-7", "Glucosa", "mg/dL", 72.0, 99.0, 0),
    "hba1c": Lab("4548-4", "Hemoglobina A1c", "%", 4.8, 5.6, 1),
    "creatinina": Lab("2160-0", "Creatinina", "mg/dL", 0.6, 1.1, 2),
    "colesterol": Lab("2093-3", "Colesterol total", "mg/dL", 140.0, 199.0, 0),
    "trigliceridos": Lab("2571-8", "Triglicéridos", "mg/dL", 60.0, 149.0, 0),
}
# Laboratory panels: (name, LOINC panel code or None, tests)
CBC = ("Hemograma completo", "58410-2", ("hemoglobina", "hematocrito", "leucocitos", "plaquetas"))
DIABETES_PANEL = ("Control metabólico", None, ("glucosa", "hba1c", "creatinina"))
HYPERTENSION_PANEL = ("Perfil renal y lipídico", None, ("creatinina", "colesterol", "trigliceridos"))
PRENATAL_PANEL = ("Laboratorio prenatal", None, ("hemoglobina", "hematocrito", "glucosa"))


@dataclass(frozen=True)
class Diagnosis:
    key: str
    icd10: str
    text: str
    setting: str  # AMB (outpatient), EMER (emergency), IMP (admission)
    drugs: tuple[str, ...]  # adults
    child_drugs: tuple[str, ...]
    panel: tuple | None = None
    imaging: tuple[str, tuple[str, ...]] | None = None  # study, possible conclusions
    fever: bool = False


ACUTE = {
    "iras": Diagnosis("iras", "J06.9", "Infección aguda de las vías respiratorias superiores", "AMB",
                      ("acetaminofen",), ("acetaminofen-jarabe",), fever=True),
    "bronquitis": Diagnosis("bronquitis", "J20.9", "Bronquitis aguda", "AMB", ("acetaminofen", "salbutamol"),
                            ("acetaminofen-jarabe", "salbutamol"), fever=True),
    "neumonia": Diagnosis("neumonia", "J18.9", "Neumonía", "EMER", ("amoxicilina", "acetaminofen"),
                          ("amoxicilina-susp", "acetaminofen-jarabe"), panel=CBC,
                          imaging=("Radiografía de tórax", ("Consolidación basal derecha compatible con neumonía",
                                                            "Infiltrado intersticial bilateral")), fever=True),
    "diarrea": Diagnosis("diarrea", "A09.0", "Diarrea y gastroenteritis de origen infeccioso", "AMB",
                         ("sro",), ("sro", "zinc")),
    "dengue": Diagnosis("dengue", "A97.0", "Dengue sin signos de alarma", "AMB", ("acetaminofen",),
                        ("acetaminofen-jarabe",), panel=CBC, fever=True),
    "dengue-grave": Diagnosis("dengue-grave", "A97.1", "Dengue con signos de alarma", "IMP",
                              ("acetaminofen",), ("acetaminofen-jarabe",), panel=CBC, fever=True),
    "itu": Diagnosis("itu", "N39.0", "Infección de vías urinarias", "AMB", ("nitrofurantoina",),
                     ("amoxicilina-susp",)),
    "parasitosis": Diagnosis("parasitosis", "B82.9", "Parasitosis intestinal", "AMB", ("mebendazol",),
                             ("mebendazol",)),
    "anemia": Diagnosis("anemia", "D50.9", "Anemia por deficiencia de hierro", "AMB", ("sulfato-ferroso",),
                        ("sulfato-ferroso",), panel=CBC),
    "gastritis": Diagnosis("gastritis", "K29.7", "Gastritis", "AMB", ("omeprazol",), ("omeprazol",)),
    "fractura-antebrazo": Diagnosis("fractura-antebrazo", "S52.5", "Fractura de la epífisis inferior del radio",
                                    "EMER", ("ibuprofeno",), ("acetaminofen-jarabe",),
                                    imaging=("Radiografía de antebrazo", ("Fractura distal del radio sin "
                                                                          "desplazamiento",
                                                                          "Fractura distal del radio "
                                                                          "desplazada"))),
    "trauma-craneo": Diagnosis("trauma-craneo", "S06.0", "Conmoción cerebral", "EMER", ("acetaminofen",),
                               ("acetaminofen-jarabe",),
                               imaging=("Tomografía de cráneo", ("Sin lesiones intracraneales agudas",))),
    "herida": Diagnosis("herida", "S01.8", "Herida de otras partes de la cabeza", "EMER", ("ibuprofeno",),
                        ("acetaminofen-jarabe",)),
    "esguince": Diagnosis("esguince", "S93.4", "Esguince del tobillo", "AMB", ("ibuprofeno",),
                          ("acetaminofen-jarabe",),
                          imaging=("Radiografía de tobillo", ("Sin fracturas",))),
}
HYPERTENSION = Diagnosis("hta", "I10", "Hipertensión esencial (primaria)", "AMB", (), (),
                         panel=HYPERTENSION_PANEL)
DIABETES = Diagnosis("dm2", "E11.9", "Diabetes mellitus tipo 2 sin complicaciones", "AMB", (), (),
                     panel=DIABETES_PANEL)
ASTHMA = Diagnosis("asma", "J45.9", "Asma", "AMB", ("salbutamol",), ("salbutamol",))
PREGNANCY = Diagnosis("embarazo", "Z34.9", "Supervisión de embarazo normal", "AMB",
                      ("sulfato-ferroso", "acido-folico"), (), panel=PRENATAL_PANEL,
                      imaging=("Ultrasonido obstétrico", ("Embarazo único intrauterino con feto vivo, "
                                                          "crecimiento acorde a la edad gestacional",)))
DELIVERY = Diagnosis("parto", "O80", "Parto único espontáneo", "IMP", ("acetaminofen",), ())
CESAREAN = Diagnosis("cesarea", "O82", "Parto único por cesárea", "IMP", ("ibuprofeno",), ())
WELL_CHILD = Diagnosis("nino-sano", "Z00.1", "Control de salud de rutina del niño", "AMB", (), ())

# Acute episodes a year by age group: (youngest, oldest, {diagnosis: weight}); "trauma" weights rise for
# young men (doubled in ``clinical``).
ACUTE_MIX = (
    (0, 4, {"iras": 1.2, "diarrea": 0.7, "bronquitis": 0.3, "neumonia": 0.12, "dengue": 0.06, "parasitosis": 0.1,
            "anemia": 0.08, "trauma-craneo": 0.02, "herida": 0.03}),
    (5, 14, {"iras": 0.7, "diarrea": 0.3, "dengue": 0.1, "dengue-grave": 0.01, "parasitosis": 0.2,
             "fractura-antebrazo": 0.04, "herida": 0.05, "esguince": 0.04, "anemia": 0.05, "neumonia": 0.03}),
    (15, 44, {"iras": 0.35, "diarrea": 0.15, "dengue": 0.08, "dengue-grave": 0.008, "itu": 0.12,
              "gastritis": 0.1, "fractura-antebrazo": 0.03, "trauma-craneo": 0.03, "herida": 0.06,
              "esguince": 0.06, "anemia": 0.04}),
    (45, 64, {"iras": 0.3, "diarrea": 0.1, "dengue": 0.05, "itu": 0.1, "gastritis": 0.15, "neumonia": 0.04,
              "fractura-antebrazo": 0.03, "herida": 0.03, "esguince": 0.03}),
    (65, 200, {"iras": 0.35, "neumonia": 0.12, "diarrea": 0.1, "dengue": 0.04, "itu": 0.12, "gastritis": 0.1,
               "fractura-antebrazo": 0.05, "trauma-craneo": 0.02}),
)
TRAUMA = frozenset({"fractura-antebrazo", "trauma-craneo", "herida", "esguince"})
FEMALE_MORE = frozenset({"itu", "anemia"})


def chronic_risk(age: int) -> tuple[float, float]:
    """Probability of known hypertension and of type 2 diabetes at ``age``."""
    if age < 30:
        return 0.01, 0.005
    if age < 45:
        return 0.12, 0.05
    if age < 60:
        return 0.30, 0.13
    return 0.50, 0.20


@dataclass(frozen=True)
class Vaccine:
    cvx: str
    text: str
    doses_at_months: tuple[int, ...]  # age at each dose of the PAI schedule


CHILD_VACCINES = (
    Vaccine("19", "BCG", (0,)),
    Vaccine("08", "Hepatitis B pediátrica", (0,)),
    Vaccine("102", "Pentavalente (DPT-HepB-Hib)", (2, 4, 6)),
    Vaccine("10", "Polio inactivada (IPV)", (2, 4)),
    Vaccine("02", "Polio oral (bOPV)", (6, 18, 48)),
    Vaccine("119", "Rotavirus", (2, 4)),
    Vaccine("133", "Neumococo conjugada", (2, 4, 12)),
    Vaccine("03", "SRP (sarampión, rubéola, paperas)", (12, 18)),
    Vaccine("01", "DPT (refuerzo)", (18, 48)),
)
HPV = Vaccine("165", "Virus del papiloma humano (VPH)", (132,))
TD = Vaccine("09", "Td (tétanos y difteria)", ())
INFLUENZA = Vaccine("141", "Influenza estacional", ())
ALLERGIES = (("Penicilina", "medication"), ("Sulfonamidas", "medication"), ("Ácido acetilsalicílico", "medication"),
             ("Mariscos", "food"), ("Picadura de abeja", "environment"))
