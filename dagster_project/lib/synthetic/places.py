"""Spanish cities where the chain has stores and its customers live.

Each city carries its province and the range of its postal codes (the first two digits of a
Spanish postal code are the province), so a person's postal code always agrees with the
province of their city. Weights are populations in thousands, so big cities get more stores and
more customers.
"""

from __future__ import annotations

import numpy as np

# (city, province, first postal code, last postal code, population in thousands)
CITIES: tuple[tuple[str, str, int, int, int], ...] = (
    ("Madrid", "Madrid", 28001, 28055, 3300),
    ("Barcelona", "Barcelona", 8001, 8042, 1640),
    ("Valencia", "Valencia", 46001, 46026, 800),
    ("Sevilla", "Sevilla", 41001, 41020, 685),
    ("Zaragoza", "Zaragoza", 50001, 50021, 675),
    ("Málaga", "Málaga", 29001, 29018, 580),
    ("Murcia", "Murcia", 30001, 30012, 465),
    ("Palma", "Illes Balears", 7001, 7015, 420),
    ("Las Palmas de Gran Canaria", "Las Palmas", 35001, 35019, 380),
    ("Bilbao", "Bizkaia", 48001, 48015, 345),
    ("Alicante", "Alicante", 3001, 3016, 340),
    ("Córdoba", "Córdoba", 14001, 14014, 320),
    ("Valladolid", "Valladolid", 47001, 47016, 298),
    ("Vigo", "Pontevedra", 36201, 36216, 293),
    ("Gijón", "Asturias", 33201, 33213, 268),
    ("L'Hospitalet de Llobregat", "Barcelona", 8901, 8908, 265),
    ("A Coruña", "A Coruña", 15001, 15011, 247),
    ("Vitoria-Gasteiz", "Araba/Álava", 1001, 1015, 255),
    ("Granada", "Granada", 18001, 18015, 230),
    ("Elche", "Alicante", 3201, 3208, 235),
    ("Oviedo", "Asturias", 33001, 33013, 220),
    ("Badalona", "Barcelona", 8911, 8918, 223),
    ("Cartagena", "Murcia", 30201, 30205, 216),
    ("Terrassa", "Barcelona", 8221, 8228, 224),
    ("Jerez de la Frontera", "Cádiz", 11401, 11408, 213),
    ("Sabadell", "Barcelona", 8201, 8208, 216),
    ("Móstoles", "Madrid", 28931, 28938, 210),
    ("Santa Cruz de Tenerife", "Santa Cruz de Tenerife", 38001, 38010, 209),
    ("Pamplona", "Navarra", 31001, 31016, 203),
    ("Almería", "Almería", 4001, 4009, 200),
    ("Alcalá de Henares", "Madrid", 28801, 28807, 195),
    ("Fuenlabrada", "Madrid", 28941, 28947, 192),
    ("Leganés", "Madrid", 28911, 28919, 189),
    ("Donostia-San Sebastián", "Gipuzkoa", 20001, 20018, 188),
    ("Getafe", "Madrid", 28901, 28909, 185),
    ("Burgos", "Burgos", 9001, 9007, 174),
    ("Albacete", "Albacete", 2001, 2008, 173),
    ("Santander", "Cantabria", 39001, 39012, 172),
    ("Castellón de la Plana", "Castellón", 12001, 12006, 172),
    ("Logroño", "La Rioja", 26001, 26009, 151),
    ("Badajoz", "Badajoz", 6001, 6011, 150),
    ("Salamanca", "Salamanca", 37001, 37008, 143),
    ("Huelva", "Huelva", 21001, 21007, 142),
    ("Lleida", "Lleida", 25001, 25008, 140),
    ("Tarragona", "Tarragona", 43001, 43008, 136),
    ("León", "León", 24001, 24010, 122),
    ("Cádiz", "Cádiz", 11001, 11012, 113),
    ("Jaén", "Jaén", 23001, 23009, 111),
    ("Ourense", "Ourense", 32001, 32005, 104),
    ("Girona", "Girona", 17001, 17007, 103),
    ("Lugo", "Lugo", 27001, 27004, 98),
    ("Cáceres", "Cáceres", 10001, 10005, 96),
    ("Guadalajara", "Guadalajara", 19001, 19005, 87),
    ("Toledo", "Toledo", 45001, 45008, 86),
    ("Pontevedra", "Pontevedra", 36001, 36005, 83),
    ("Palencia", "Palencia", 34001, 34006, 77),
    ("Ciudad Real", "Ciudad Real", 13001, 13005, 75),
    ("Zamora", "Zamora", 49001, 49032, 60),
    ("Ávila", "Ávila", 5001, 5005, 58),
    ("Cuenca", "Cuenca", 16001, 16004, 54),
    ("Huesca", "Huesca", 22001, 22006, 53),
    ("Segovia", "Segovia", 40001, 40006, 51),
    ("Soria", "Soria", 42001, 42005, 40),
    ("Teruel", "Teruel", 44001, 44003, 36),
)

CITY_NAMES = np.array([c[0] for c in CITIES], dtype=object)
CITY_PROVINCES = np.array([c[1] for c in CITIES], dtype=object)
CITY_POSTAL_FIRST = np.array([c[2] for c in CITIES], dtype=np.int64)
CITY_POSTAL_LAST = np.array([c[3] for c in CITIES], dtype=np.int64)
CITY_WEIGHT = np.array([c[4] for c in CITIES], dtype=np.float64) / sum(c[4] for c in CITIES)


def postal_codes(rng: np.random.Generator, city: np.ndarray) -> np.ndarray:
    """A postal code (as an integer; format with five digits) inside each city's range."""
    first, last = CITY_POSTAL_FIRST[city], CITY_POSTAL_LAST[city]
    return first + (rng.random(len(city)) * (last - first + 1)).astype(np.int64)
