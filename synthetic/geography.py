"""Where the synthetic network lives: the 18 departments, some of their municipalities with coordinates,
their health regions, population weights and the peoples that live there.

Department codes are the INE's (the first two digits of the DNI). A municipality code is the department
followed by two digits; ``01`` is always the department's head town, the other numbers and the coordinates
are close to the real ones but only illustrative (the national profiles check the code's form, not a list).
Population weights follow the relative size of the departments (INE projections, rounded); the shares of
peoples follow where the Lenca, Miskito, Garífuna, Tolupán, Pech, Tawahka, Maya Chortí, Nahua and
English-speaking Afro-Honduran peoples mostly live, with about 9 % of the country in all.
"""

from __future__ import annotations

from dataclasses import dataclass

# Health regions (CodeSystem region-sanitaria): one per department, except the Distrito Central (0801)
# and San Pedro Sula (0501), which have the two metropolitan regions.
METROPOLITAN_REGIONS = {"0801": "19", "0501": "20"}


@dataclass(frozen=True)
class Municipality:
    code: str  # 4 digits: department + municipality
    name: str
    latitude: float
    longitude: float

    @property
    def department(self) -> str:
        return self.code[:2]

    @property
    def region(self) -> str:
        return METROPOLITAN_REGIONS.get(self.code, self.department)


@dataclass(frozen=True)
class Department:
    code: str
    name: str
    population_thousands: int
    municipalities: tuple[Municipality, ...]
    peoples: tuple[tuple[str, float], ...]  # (pueblo code, share of the department's population)


def _m(code: str, name: str, latitude: float, longitude: float) -> Municipality:
    return Municipality(code, name, latitude, longitude)


DEPARTMENTS: tuple[Department, ...] = (
    Department("01", "Atlántida", 490, (
        _m("0101", "La Ceiba", 15.7597, -86.7822), _m("0107", "Tela", 15.7758, -87.4644),
        _m("0104", "Jutiapa", 15.7500, -86.5167), _m("0105", "La Masica", 15.6333, -87.1167)),
        (("garifuna", 0.08),)),
    Department("02", "Colón", 330, (
        _m("0201", "Trujillo", 15.9167, -85.9500), _m("0209", "Tocoa", 15.6833, -86.0000),
        _m("0208", "Sonaguera", 15.6431, -86.3347), _m("0203", "Iriona", 15.9453, -85.1828)),
        (("garifuna", 0.10), ("pech", 0.01))),
    Department("03", "Comayagua", 560, (
        _m("0301", "Comayagua", 14.4514, -87.6375), _m("0318", "Siguatepeque", 14.5983, -87.8306),
        _m("0310", "La Libertad", 14.7167, -87.6000)),
        (("lenca", 0.08),)),
    Department("04", "Copán", 410, (
        _m("0401", "Santa Rosa de Copán", 14.7667, -88.7833), _m("0404", "Copán Ruinas", 14.8386, -89.1560),
        _m("0412", "Nueva Arcadia", 15.0333, -88.7333)),
        (("maya-chorti", 0.06), ("lenca", 0.03))),
    Department("05", "Cortés", 1750, (
        _m("0501", "San Pedro Sula", 15.5042, -88.0250), _m("0502", "Choloma", 15.6144, -87.9530),
        _m("0506", "Puerto Cortés", 15.8425, -87.9408), _m("0511", "Villanueva", 15.3167, -87.9833),
        _m("0512", "La Lima", 15.4333, -87.9167), _m("0503", "Omoa", 15.7667, -88.0333)),
        (("garifuna", 0.02),)),
    Department("06", "Choluteca", 480, (
        _m("0601", "Choluteca", 13.3000, -87.1833), _m("0607", "Marcovia", 13.2897, -87.3125),
        _m("0605", "El Triunfo", 13.1000, -87.0000)),
        ()),
    Department("07", "El Paraíso", 500, (
        _m("0701", "Yuscarán", 13.9436, -86.8511), _m("0703", "Danlí", 14.0333, -86.5833),
        _m("0704", "El Paraíso", 13.8667, -86.5500)),
        ()),
    Department("08", "Francisco Morazán", 1650, (
        _m("0801", "Distrito Central", 14.0818, -87.2068), _m("0826", "Talanga", 14.4000, -87.0833),
        _m("0819", "Santa Lucía", 14.1028, -87.1167), _m("0828", "Valle de Ángeles", 14.1500, -87.0333)),
        (("tolupan", 0.005), ("lenca", 0.01))),
    Department("09", "Gracias a Dios", 100, (
        _m("0901", "Puerto Lempira", 15.2667, -83.7667), _m("0902", "Brus Laguna", 15.7597, -84.5383),
        _m("0903", "Ahuas", 15.4667, -84.3500), _m("0906", "Wampusirpi", 15.1600, -84.6200)),
        (("miskito", 0.80), ("garifuna", 0.03), ("pech", 0.02), ("tawahka", 0.02))),
    Department("10", "Intibucá", 260, (
        _m("1001", "La Esperanza", 14.3081, -88.1761), _m("1009", "Intibucá", 14.3167, -88.1667),
        _m("1013", "Yamaranguila", 14.2833, -88.2333)),
        (("lenca", 0.50),)),
    Department("11", "Islas de la Bahía", 75, (
        _m("1101", "Roatán", 16.3200, -86.5400), _m("1102", "Guanaja", 16.4500, -85.9000),
        _m("1103", "José Santos Guardiola", 16.3800, -86.3500), _m("1104", "Utila", 16.1000, -86.9000)),
        (("negro-habla-inglesa", 0.30), ("garifuna", 0.05))),
    Department("12", "La Paz", 220, (
        _m("1201", "La Paz", 14.3194, -87.6769), _m("1212", "Marcala", 14.1500, -88.0333)),
        (("lenca", 0.40),)),
    Department("13", "Lempira", 350, (
        _m("1301", "Gracias", 14.5833, -88.5833), _m("1317", "Erandique", 14.2333, -88.4667)),
        (("lenca", 0.50),)),
    Department("14", "Ocotepeque", 160, (
        _m("1401", "Ocotepeque", 14.4333, -89.1833), _m("1402", "Belén Gualcho", 14.4833, -88.7833)),
        (("lenca", 0.05), ("maya-chorti", 0.02))),
    Department("15", "Olancho", 560, (
        _m("1501", "Juticalpa", 14.6667, -86.2167), _m("1506", "Catacamas", 14.8500, -85.9000),
        _m("1518", "San Esteban", 15.2167, -85.7500)),
        (("pech", 0.01), ("nahua", 0.01))),
    Department("16", "Santa Bárbara", 460, (
        _m("1601", "Santa Bárbara", 14.9167, -88.2333), _m("1619", "Quimistán", 15.3439, -88.4061),
        _m("1615", "Trinidad", 15.1333, -88.2500)),
        (("lenca", 0.08),)),
    Department("17", "Valle", 185, (
        _m("1701", "Nacaome", 13.5333, -87.4833), _m("1709", "San Lorenzo", 13.4167, -87.4500),
        _m("1702", "Amapala", 13.2917, -87.6536)),
        ()),
    Department("18", "Yoro", 620, (
        _m("1801", "Yoro", 15.1333, -87.1333), _m("1804", "El Progreso", 15.4000, -87.8000),
        _m("1807", "Olanchito", 15.4833, -86.5667), _m("1808", "Santa Rita", 15.1833, -87.8833)),
        (("tolupan", 0.05),)),
)

BY_CODE = {d.code: d for d in DEPARTMENTS}
MUNICIPALITIES = {m.code: m for d in DEPARTMENTS for m in d.municipalities}
# Indigenous languages spoken at home by some of each people (BCP 47, ValueSet idioma).
PEOPLE_LANGUAGES = {"miskito": "miq", "garifuna": "cab", "tolupan": "jic", "pech": "pay", "tawahka": "sum",
                    "maya-chorti": "caa", "negro-habla-inglesa": "en"}
# Neighbourhoods and villages used for street addresses and the names of the primary care units.
PLACES = ("El Centro", "San José", "Santa Cruz", "El Carrizal", "Las Flores", "El Rosario", "La Esperanza",
          "San Isidro", "Buena Vista", "El Zapote", "Los Laureles", "Monte Verde", "San Antonio", "El Naranjo",
          "La Libertad", "Agua Caliente", "El Pedregal", "Los Pinos", "Concepción", "La Guadalupe", "El Tablón",
          "Las Mercedes", "San Francisco", "El Chimbo", "La Joya", "Villa Nueva", "Nueva Esperanza", "El Jícaro",
          "Santa Rosa", "Las Palmas", "El Ocotal", "Los Robles", "San Marcos", "La Montañita", "El Porvenir",
          "Suyapa", "La Travesía", "El Guayabal", "Río Abajo", "Las Delicias")
STREET_KINDS = ("Barrio", "Colonia", "Aldea", "Caserío", "Residencial")


def department_of(municipality: str) -> Department:
    return BY_CODE[municipality[:2]]
