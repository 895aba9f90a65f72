"""Synthetic people: the population pyramid, Honduran names with two surnames, DNIs and phone numbers.

The pyramid is Honduras's shape (a young country: about 29 % under 15, 5 % over 65; INE projections,
rounded to five-year bands) with slightly more boys among children and more women among the old.
No real person is described: names are drawn independently from common given names and surnames.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

# (lowest age of the band, share of the population in %, share of men in the band)
PYRAMID: tuple[tuple[int, float, float], ...] = (
    (0, 9.6, 0.51), (5, 9.6, 0.51), (10, 9.8, 0.51), (15, 9.9, 0.50), (20, 9.9, 0.49), (25, 9.0, 0.49),
    (30, 7.9, 0.48), (35, 6.9, 0.48), (40, 6.0, 0.48), (45, 5.0, 0.48), (50, 4.1, 0.47), (55, 3.4, 0.47),
    (60, 2.7, 0.46), (65, 2.1, 0.46), (70, 1.5, 0.45), (75, 1.0, 0.44), (80, 1.2, 0.42),
)
OLDEST_AGE = 95
BAND_STARTS = tuple(b[0] for b in PYRAMID)
BAND_WEIGHTS = tuple(b[1] for b in PYRAMID)

GIVEN_FEMALE = ("María", "Ana", "Rosa", "Dilcia", "Yessenia", "Karla", "Suyapa", "Lourdes", "Glenda", "Keila",
                "Marlen", "Daysi", "Wendy", "Iris", "Nolvia", "Sandra", "Xiomara", "Fátima", "Reina", "Gloria",
                "Sonia", "Alba", "Lesbia", "Dunia", "Heidy", "Mirian", "Tania", "Ángela", "Belkis", "Nohemí",
                "Carmen", "Rosibel", "Merlin", "Jazmín", "Sofía", "Valeria", "Camila", "Génesis", "Allison",
                "Dayana")
GIVEN_MALE = ("José", "Juan", "Carlos", "Luis", "Olvin", "Kevin", "Marvin", "Josué", "Elvin", "Wilmer", "Denis",
              "Héctor", "Nelson", "Erick", "Óscar", "Santos", "Mario", "Francisco", "Jorge", "Manuel", "Roberto",
              "Ángel", "Edwin", "Darwin", "Selvin", "Wilson", "Fredy", "Raúl", "Ramón", "Tomás", "Jesús",
              "Ariel", "Allan", "Brayan", "Dennis", "Jonathan", "Cristian", "Alexander", "Dylan", "Mateo")
SURNAMES = ("Hernández", "López", "Martínez", "Rodríguez", "Flores", "Mejía", "Reyes", "Zelaya", "Banegas",
            "Maradiaga", "Ramírez", "Cruz", "Sánchez", "Álvarez", "Castillo", "Bustillo", "Padilla", "Aguilar",
            "Ordóñez", "Funes", "Matute", "Paz", "Lagos", "Euceda", "Pineda", "Velásquez", "García", "Pérez",
            "Gómez", "Díaz", "Romero", "Ortiz", "Rivera", "Mendoza", "Torres", "Zúniga", "Osorio", "Amador",
            "Sierra", "Cálix", "Midence", "Matamoros", "Ávila", "Vásquez", "Chávez", "Espinoza", "Núñez",
            "Bonilla", "Carranza", "Murillo", "Alvarado", "Suazo", "Membreño", "Cáceres", "Izaguirre", "Moncada",
            "Rosales", "Fiallos", "Caballero", "Andino")
# Surnames frequent among some peoples, mixed with the common ones above.
PEOPLE_SURNAMES = {
    "garifuna": ("Arzú", "Guity", "Bernárdez", "Sambulá", "Lacayo", "Martínez", "Castillo", "Álvarez"),
    "miskito": ("Haylock", "Kittle", "Wood", "Nixon", "Bushey", "Waldan", "Zelaya", "Molina"),
    "negro-habla-inglesa": ("Bodden", "Ebanks", "McNab", "Jackson", "Hyde", "Cooper", "Woods", "Connor"),
    "lenca": ("Gómez", "Vásquez", "Méndez", "Domínguez", "Manueles", "Pérez", "Sánchez", "Lemus"),
}
PHONE_PREFIXES = ("3", "8", "9")  # mobile numbers; 2xxx-xxxx are fixed lines


def draw_age_sex(rng: random.Random) -> tuple[int, str]:
    """Age in whole years and FHIR administrative gender, following ``PYRAMID``."""
    band = rng.choices(range(len(PYRAMID)), weights=BAND_WEIGHTS)[0]
    start, _share, men = PYRAMID[band]
    end = PYRAMID[band + 1][0] if band + 1 < len(PYRAMID) else OLDEST_AGE
    age = start + rng.randrange(end - start)
    return age, "male" if rng.random() < men else "female"


def birth_date(rng: random.Random, age: int, as_of: date) -> date:
    """A birth date giving ``age`` full years on ``as_of``."""
    latest = as_of.replace(year=as_of.year - age) if not (as_of.month == 2 and as_of.day == 29) \
        else date(as_of.year - age, 2, 28)
    return latest - timedelta(days=rng.randrange(365))


def given_names(rng: random.Random, gender: str) -> list[str]:
    pool = GIVEN_FEMALE if gender == "female" else GIVEN_MALE
    first = rng.choice(pool)
    if rng.random() < 0.55:
        second = rng.choice(pool)
        if second != first:
            return [first, second]
    return [first]


def surnames(rng: random.Random, people: str | None) -> tuple[str, str]:
    """First surname (the father's) and second surname (the mother's)."""
    special = PEOPLE_SURNAMES.get(people or "")

    def one() -> str:
        return rng.choice(special) if special and rng.random() < 0.6 else rng.choice(SURNAMES)

    return one(), one()


# A DNI sequence is a permutation of the patient index (an odd multiplier prime to 10): unique up to
# 100,000 people per municipality and year, and not in index order.
_SEQUENCE_MULTIPLIER = 48271


def dni(*, municipality: str, registration_year: int, index: int, offset: int) -> str:
    """A 13-digit DNI of the RNP layout: municipality of birth registration (department + municipality),
    year of registration, five-digit sequence (fhir_profiles/systems.py DNI_PATTERN)."""
    sequence = (offset + index * _SEQUENCE_MULTIPLIER) % 100_000
    return f"{municipality}{registration_year:04d}{sequence:05d}"


def mobile_phone(rng: random.Random) -> str:
    return f"{rng.choice(PHONE_PREFIXES)}{rng.randrange(1000):03d}-{rng.randrange(10000):04d}"

