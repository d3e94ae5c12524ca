"""The chain's stores and its product catalogue (a Spanish pharmacy / parapharmacy).

Brands are invented, so the data names no real company. Prescription medicines are a
pharmacy's health-revealing purchases: they are sold in stores only (Spanish law forbids selling
them online) and the pipeline must never use them for marketing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dagster_project.lib.synthetic import places
from dagster_project.lib.synthetic.params import WorldParams

CHAIN = "FarmaVida"


@dataclass(frozen=True)
class Stores:
    """Store master; index i is store `store_id[i]`."""

    store_id: np.ndarray  # "S001"
    store_name: np.ndarray
    city: np.ndarray  # index into places.CITIES
    postal_code: np.ndarray  # integer, five digits when formatted
    opened_on: np.ndarray  # datetime64[D]
    traffic: np.ndarray  # share of walk-in traffic and of new members, sums to 1

    def __len__(self) -> int:
        return len(self.store_id)


def make_stores(
    rng: np.random.Generator, customers: int, world: WorldParams, start: np.datetime64
) -> Stores:
    """About one store per `customers_per_store` customers, in cities drawn by population."""
    n = int(
        np.clip(round(customers / world.customers_per_store), world.min_stores, world.max_stores)
    )
    city = np.sort(rng.choice(len(places.CITIES), size=n, p=places.CITY_WEIGHT))
    # Number the stores of a city 1, 2, … so names stay unique: "FarmaVida Madrid 3".
    first_of_city = np.searchsorted(city, city, side="left")
    number = np.arange(n) - first_of_city + 1
    many = np.bincount(city, minlength=len(places.CITIES))[city] > 1
    names = np.array(
        [
            f"{CHAIN} {name} {k}" if multi else f"{CHAIN} {name}"
            for name, k, multi in zip(places.CITY_NAMES[city], number, many, strict=True)
        ],
        dtype=object,
    )
    oldest = np.datetime64("1995-01-01", "D")
    opened = oldest + (
        rng.random(n) * (start - np.timedelta64(30, "D") - oldest).astype(np.int64)
    ).astype("timedelta64[D]")
    traffic = rng.lognormal(0.0, 0.4, n)
    return Stores(
        store_id=np.array([f"S{i + 1:03d}" for i in range(n)], dtype=object),
        store_name=names,
        city=city,
        postal_code=places.postal_codes(rng, city),
        opened_on=opened,
        traffic=traffic / traffic.sum(),
    )


@dataclass(frozen=True)
class Category:
    name: str
    vat: int
    price_range: tuple[float, float]  # list price in EUR, VAT included
    share: float  # of the catalogue
    pos_popularity: float  # how much store tickets favour it
    online_popularity: float  # 0: never sold online
    subcategories: dict[str, tuple[tuple[str, ...], tuple[str, ...]]]  # name: (stems, sizes)
    brands: tuple[str, ...]
    is_prescription: bool = False
    # What a unit costs the chain as a share of its shelf price net of VAT (its gross margin is
    # the rest): regulated medicines leave the pharmacy little, cosmetics and optics much more.
    cost_share: float = 0.65


CATEGORIES: tuple[Category, ...] = (
    Category(
        "Dermocosmética",
        21,
        (8.0, 45.0),
        0.22,
        1.0,
        2.0,
        {
            "Hidratación": (
                ("Crema hidratante", "Sérum hialurónico", "Gel-crema hidratante"),
                ("30 ml", "50 ml"),
            ),
            "Solares": (
                (
                    "Fotoprotector facial SPF50+",
                    "Spray solar SPF30",
                    "Leche solar infantil SPF50+",
                    "Gel after sun",
                ),
                ("50 ml", "200 ml", "400 ml"),
            ),
            "Antiedad": (
                (
                    "Crema antiarrugas",
                    "Sérum vitamina C",
                    "Contorno de ojos",
                    "Crema de noche retinol",
                ),
                ("15 ml", "30 ml", "50 ml"),
            ),
            "Limpieza facial": (
                ("Agua micelar", "Gel limpiador", "Tónico facial"),
                ("200 ml", "400 ml"),
            ),
            "Pieles atópicas": (
                ("Bálsamo emoliente", "Aceite de ducha atópica", "Crema reparadora de manos"),
                ("75 ml", "200 ml", "400 ml"),
            ),
        },
        ("Dermaluz", "Aquavita", "Pielsana", "Lumiderm", "Solarea", "Atopik"),
        cost_share=0.55,
    ),
    Category(
        "Higiene",
        21,
        (2.0, 12.0),
        0.16,
        1.0,
        1.0,
        {
            "Higiene bucal": (
                (
                    "Pasta dentífrica encías 75 ml",
                    "Colutorio sin alcohol 500 ml",
                    "Cepillo dental suave",
                    "Hilo dental 50 m",
                ),
                ("", "pack 2"),
            ),
            "Higiene corporal": (
                ("Gel de baño dermoprotector", "Jabón íntimo", "Gel de manos hidroalcohólico"),
                ("250 ml", "750 ml"),
            ),
            "Desodorantes": (
                ("Desodorante 48 h", "Desodorante piel sensible"),
                ("roll-on 50 ml", "spray 200 ml"),
            ),
            "Cuidado capilar": (
                ("Champú anticaspa", "Champú anticaída", "Loción antipiojos"),
                ("200 ml", "400 ml"),
            ),
        },
        ("Bucalia", "Clarisan", "Higienia", "Sonrisol", "Capilar Plus"),
        cost_share=0.65,
    ),
    Category(
        "Bebé",
        10,
        (3.0, 30.0),
        0.12,
        0.8,
        1.2,
        {
            "Alimentación infantil": (
                ("Leche de continuación 2", "Leche de crecimiento 3", "Papilla 8 cereales"),
                ("400 g", "800 g"),
            ),
            "Higiene del bebé": (
                (
                    "Toallitas 72 uds",
                    "Crema para el pañal 100 ml",
                    "Champú suave bebé 500 ml",
                    "Pañales talla 4 44 uds",
                ),
                ("", "pack 2"),
            ),
            "Accesorios": (
                (
                    "Biberón anticólico 260 ml",
                    "Chupete de silicona 0-6 meses",
                    "Chupete de silicona 6-18 meses",
                ),
                ("",),
            ),
        },
        ("Bebesol", "Nenitos", "Mimitos", "Pequeñín"),
        cost_share=0.7,
    ),
    Category(
        "Nutrición",
        10,
        (6.0, 40.0),
        0.12,
        0.8,
        1.4,
        {
            "Complementos alimenticios": (
                (
                    "Magnesio con colágeno",
                    "Vitamina D3",
                    "Omega 3",
                    "Multivitamínico",
                    "Melatonina 1,9 mg",
                    "Probióticos",
                ),
                ("30 cápsulas", "60 cápsulas"),
            ),
            "Control de peso": (
                (
                    "Batido sustitutivo chocolate",
                    "Batido sustitutivo vainilla",
                    "Crema sustitutiva verduras",
                ),
                ("400 g", "800 g"),
            ),
            "Nutrición deportiva": (
                ("Proteína whey", "Bebida isotónica en polvo"),
                ("500 g", "1 kg"),
            ),
        },
        ("Nutrivital", "Vitalia", "Bionatur", "Sportfarma"),
        cost_share=0.6,
    ),
    Category(
        "Ortopedia",
        10,
        (8.0, 60.0),
        0.07,
        0.4,
        0.8,
        {
            "Ortesis": (
                ("Muñequera", "Rodillera", "Tobillera", "Faja lumbar"),
                ("talla S", "talla M", "talla L"),
            ),
            "Pies y piernas": (
                ("Plantillas de gel", "Medias de compresión"),
                ("talla S", "talla M", "talla L"),
            ),
            "Ayudas técnicas": (
                ("Bastón extensible", "Pastillero semanal", "Cojín cervical"),
                ("",),
            ),
        },
        ("Ortoplus", "Movilia", "Soportex"),
        cost_share=0.6,
    ),
    Category(
        "Parafarmacia OTC",
        4,
        (2.5, 15.0),
        0.13,
        1.5,
        0.5,
        {
            "Dolor y fiebre": (
                (
                    "Ibuprofeno 400 mg 20 comprimidos",
                    "Paracetamol 1 g 20 comprimidos",
                    "Gel antiinflamatorio 100 g",
                ),
                ("",),
            ),
            "Resfriado": (
                (
                    "Antigripal 10 sobres",
                    "Pastillas para la garganta 24 uds",
                    "Spray nasal agua de mar 100 ml",
                    "Jarabe para la tos 200 ml",
                ),
                ("",),
            ),
            "Digestivo": (
                ("Antiácido masticable 30 comprimidos", "Sales de rehidratación 10 sobres"),
                ("",),
            ),
            "Botiquín": (
                (
                    "Tiritas surtidas 40 uds",
                    "Antiséptico clorhexidina 125 ml",
                    "Termómetro digital",
                ),
                ("",),
            ),
        },
        ("Iberfarma", "Medisur", "Farmalab", "Salusan", "Vitagen"),
        cost_share=0.7,
    ),
    Category(
        "Medicamentos con receta",
        4,
        (2.0, 20.0),
        0.08,
        2.5,
        0.0,
        {
            "Cardiovascular": (
                (
                    "Enalapril 10 mg 28 comprimidos",
                    "Atorvastatina 20 mg 28 comprimidos",
                    "Amlodipino 5 mg 30 comprimidos",
                ),
                ("",),
            ),
            "Aparato digestivo": (
                ("Omeprazol 20 mg 28 cápsulas", "Pantoprazol 40 mg 28 comprimidos"),
                ("",),
            ),
            "Metabolismo": (
                ("Metformina 850 mg 50 comprimidos", "Levotiroxina 100 mcg 100 comprimidos"),
                ("",),
            ),
            "Sistema nervioso": (
                (
                    "Lorazepam 1 mg 30 comprimidos",
                    "Sertralina 50 mg 30 comprimidos",
                    "Pregabalina 75 mg 56 cápsulas",
                ),
                ("",),
            ),
            "Antiinfecciosos": (
                ("Amoxicilina 500 mg 24 cápsulas", "Azitromicina 500 mg 3 comprimidos"),
                ("",),
            ),
            "Respiratorio": (
                ("Salbutamol inhalador 100 mcg", "Budesonida inhalador 200 mcg"),
                ("",),
            ),
        },
        ("Iberfarma EFG", "Medisur EFG", "Vitagen EFG", "Laboratorios Alba", "Salusan EFG"),
        is_prescription=True,
        cost_share=0.75,
    ),
    Category(
        "Óptica",
        10,
        (5.0, 60.0),
        0.06,
        0.4,
        0.8,
        {
            "Lentes de contacto": (
                ("Lentillas mensuales 6 uds", "Solución única lentillas 360 ml"),
                ("",),
            ),
            "Gafas": (
                ("Gafas de lectura +1,5", "Gafas de lectura +2,5", "Gafas de sol polarizadas"),
                ("",),
            ),
            "Salud ocular": (
                ("Lágrimas artificiales 30 monodosis", "Toallitas oculares 20 uds"),
                ("",),
            ),
        },
        ("Visiolux", "Oftalmia", "Claravista"),
        cost_share=0.5,
    ),
    Category(
        "Salud sexual",
        21,
        (4.0, 20.0),
        0.04,
        0.4,
        1.0,
        {
            "Preservativos": (
                ("Preservativos finos 12 uds", "Preservativos extra lubricados 12 uds"),
                ("",),
            ),
            "Lubricantes": (("Gel lubricante base agua 50 ml",), ("",)),
            "Tests": (("Test de embarazo", "Test de ovulación 7 uds"), ("",)),
        },
        ("Intimia", "Venusa", "Amoris"),
        cost_share=0.6,
    ),
)


@dataclass(frozen=True)
class Products:
    """The catalogue over the whole period; index i is product `sku[i]`."""

    sku: np.ndarray
    product_name: np.ndarray
    category: np.ndarray
    subcategory: np.ndarray
    brand: np.ndarray
    is_prescription: np.ndarray
    list_cents: np.ndarray
    vat_rate: np.ndarray
    unit_cost_cents: np.ndarray  # what a unit costs the chain, VAT excluded
    launch_month: np.ndarray  # months since the first month; 0 = in the first snapshot
    end_month: np.ndarray  # first month it is no longer sold (large when never)
    pos_weight: np.ndarray = field(repr=False)  # popularity on store tickets
    online_weight: np.ndarray = field(repr=False)  # popularity online; 0 = not sold online

    def __len__(self) -> int:
        return len(self.sku)


def _candidates(rng: np.random.Generator, n: int) -> list[tuple[int, str, str, str]]:
    """(category, subcategory, brand, name) of `n` random catalogue entries, names unique."""
    shares = np.array([c.share for c in CATEGORIES])
    chosen: dict[str, tuple[int, str, str, str]] = {}
    while len(chosen) < n:
        for ci in rng.choice(len(CATEGORIES), size=2 * n, p=shares / shares.sum()):
            cat = CATEGORIES[ci]
            sub = list(cat.subcategories)[rng.integers(len(cat.subcategories))]
            stems, sizes = cat.subcategories[sub]
            stem = stems[rng.integers(len(stems))]
            brand = cat.brands[rng.integers(len(cat.brands))]
            size = sizes[rng.integers(len(sizes))]
            name = " ".join(part for part in (stem, brand, size) if part)
            chosen.setdefault(name, (int(ci), sub, brand, name))
            if len(chosen) == n:
                break
    return list(chosen.values())


def make_products(rng: np.random.Generator, n_months: int, world: WorldParams) -> Products:
    """The base catalogue plus a few launches each month; some base products are discontinued."""
    n_new = world.new_products_per_month * max(n_months - 1, 0)
    n = world.base_products + n_new
    rows = _candidates(rng, n)
    cat_index = np.array([r[0] for r in rows])
    lo = np.array([CATEGORIES[c].price_range[0] for c in cat_index])
    hi = np.array([CATEGORIES[c].price_range[1] for c in cat_index])
    # Shelf prices end in 5 cents, spread log-uniformly over the category's range.
    euros = np.exp(np.log(lo) + rng.random(n) * (np.log(hi) - np.log(lo)))
    list_cents = np.maximum(np.round(euros * 10).astype(np.int64) * 10 - 5, 95)

    launch = np.zeros(n, dtype=np.int64)
    launch[world.base_products :] = 1 + np.arange(n_new) // max(world.new_products_per_month, 1)
    end = np.full(n, 10_000, dtype=np.int64)
    if n_months > 1:
        gone = rng.random(world.base_products) < world.discontinued_share
        end[: world.base_products][gone] = rng.integers(1, n_months, size=gone.sum())

    vat = np.array([CATEGORIES[c].vat for c in cat_index], dtype=np.int64)
    # Zipf-like popularity: a few products sell a lot; the category sets the channel mix.
    zipf = 1.0 / (1.0 + rng.permutation(n)) ** 0.9
    pos_mult = np.array([CATEGORIES[c].pos_popularity for c in cat_index])
    online_mult = np.array([CATEGORIES[c].online_popularity for c in cat_index])
    return Products(
        sku=np.array([f"P{i + 1:05d}" for i in range(n)], dtype=object),
        product_name=np.array([r[3] for r in rows], dtype=object),
        category=np.array([CATEGORIES[c].name for c in cat_index], dtype=object),
        subcategory=np.array([r[1] for r in rows], dtype=object),
        brand=np.array([r[2] for r in rows], dtype=object),
        is_prescription=np.array([CATEGORIES[c].is_prescription for c in cat_index]),
        list_cents=list_cents,
        vat_rate=vat,
        unit_cost_cents=np.round(
            list_cents / (1 + vat / 100) * np.array([CATEGORIES[c].cost_share for c in cat_index])
        ).astype(np.int64),
        launch_month=launch,
        end_month=end,
        pos_weight=zipf * pos_mult,
        online_weight=zipf * online_mult,
    )
