"""Trigger phrases for the clinical intents of the dispensing assistant.

Phrase syntax (one phrase = space-separated token patterns):
- ``a|b|c``  the token is one of these words;
- ``stem*``  the token starts with ``stem``;
- ``~``      a gap of zero to three arbitrary tokens.
Matching is case-insensitive and tolerant to one typing error on longer words (see ``intents``).

An *aversive* trigger names something the patient wants to avoid (glare, thick or heavy lenses,
scratches, cost): "does not want thick lenses" affirms the thickness concern instead of denying it.
Exclusions are phrases that consume their tokens so that no intent fires on them ("semi rimless").

The tags are the stable names of API.md; add more, never rename.
"""

from __future__ import annotations

from typing import Final

INTENT_TAGS: Final[tuple[str, ...]] = (
    "screen_work",
    "near_work",
    "night_driving",
    "glare_sensitivity",
    "driving_for_work",
    "outdoor_sport",
    "uv_exposure",
    "light_sensitivity",
    "occupational_safety",
    "child_wearer",
    "first_progressive",
    "previous_non_adapt",
    "eye_strain_headache",
    "cosmetic_thickness",
    "weight_comfort",
    "budget_sensitive",
    "premium_preference",
    "rimless_frame",
    "frequent_lens_scratching",
    "swimming_water_sports",
)

_PROGRESSIVES = "progressive|progressives|varifocal|varifocals|multifocal|multifocals|pal|pals"

TRIGGERS: Final[dict[str, tuple[str, ...]]] = {
    "screen_work": (
        "computer|computers|pc|pcs|laptop|laptops|tablet|tablets|ipad|vdu|monitor|monitors",
        "screen|screens",
        "screen time",
        "spreadsheet*",
        "digital devices",
        "software",
        "coding|programmer|programming|gamer|gaming",
        "video editor",
        "work|works|working in it",
    ),
    "near_work": (
        "read|reads|reading|reader",
        "newspaper*",
        "book|books|novel|novels|crossword|crosswords|puzzles",
        "sewing|knit|knits|knitting|embroider*|crochet",
        "fine detail",
        "detail work",
        "close|near work|tasks|vision",
        "small|large print",
        "jeweller|jeweler|watchmaker|miniatures|loupes|magnification",
        "marks|marking essays",
        "paperwork",
    ),
    "night_driving": (
        "night|nite driving|driver|drivers",
        "drive|drives|driving|driven ~ at night",
        "drive|drives|driving after dark",
        "at night|nite ~ drive|drives|driving",
        "drive|drives|driving through the night",
        "driving in the dark",
        "night shift|shifts|runs",
        "work|works|working nights",
    ),
    "glare_sensitivity": (
        "glare",
        "dazzl*",
        "halo|halos|starburst|starbursts",
        "oncoming headlights",
    ),
    "driving_for_work": (
        "driver|drivers|uber|rideshare|hgv|courier|chauffeur",
        "sales rep",
        "drive|drives|driving ~ for work",
        "drive|drives|driving for a living",
        "long drives",
        "car journeys",
        "on the road all day",
        "delivery|deliveries",
    ),
    "outdoor_sport": (
        "sport|sports|sporty",
        "cycle|cycles|cycling|cyclist|bike|biker|biking",
        "golf|golfer|tennis|football|soccer|rugby|cricket|hockey|netball|basketball|badminton",
        "hike|hikes|hiking|hiker|climber|climbing|runner|running|jogging|jogger",
        "ski|skis|skier|skiing",
        "fish|fishes|fishing|angler",
    ),
    "uv_exposure": (
        "uv|ultraviolet",
        "sun exposure",
        "in the sun",
        "bright sun|sunshine",
        "work|works|working outside|outdoors",
        "outdoors most|all ~ day",
        "outdoor work|worker",
        "gardener|gardening|farm|farmer|farming|landscaper",
        "snow",
    ),
    "light_sensitivity": (
        "photophobia|photophobic",
        "light sensitivity|sensitive",
        "sensitive to light|sunlight",
        "sensitive to bright light|lights",
        "bright sunlight",
        "sunlight uncomfortable",
        "squint|squints|squinting ~ sun|sunlight|outdoors",
        "fluorescent lights",
    ),
    "occupational_safety": (
        "safety glasses|eyewear|specs|lenses|rated|goggles|frames",
        "z87",
        "impact resistant|rated|resistance",
        "workshop|machinist|lathe|welder|welding|grinder|electrician|carpenter",
        "wood turner|woodwork|woodworking|metalwork",
        "power tools",
        "construction site|sites",
        "protective lenses|eyewear",
    ),
    "child_wearer": (
        "child|children|kid|kids|boy|girl|teen|teens|teenager|toddler|schoolboy|schoolgirl",
        "paediatric|pediatric",
    ),
    "first_progressive": (
        f"first {_PROGRESSIVES}",
        f"first time {_PROGRESSIVES}",
        f"first pair of {_PROGRESSIVES}",
        f"never worn|had|tried|used ~ {_PROGRESSIVES}",
        f"new to {_PROGRESSIVES}",
    ),
    "previous_non_adapt": (
        "non adapt|adapted|adaptation",
        "nonadapt*",
        "could|did|does|can not adapt|adjust",
        "could|did|does|can not get used",
        "couldn't|couldnt|cannot|can't|cant|didn't|didnt get used",
        "couldn't|couldnt|cannot|can't|cant|didn't|didnt adapt|adjust",
        "failed to adapt",
        "difficulty|problems|trouble adapting",
        "adaptation problems|issues|difficulties",
        f"gave up on ~ {_PROGRESSIVES}",
        f"{_PROGRESSIVES} ~ remade",
        f"returned ~ {_PROGRESSIVES}",
    ),
    "eye_strain_headache": (
        "headache*",
        "migraine*",
        "eye strain|strains",
        "eyestrain",
        "asthenopia",
        "tired|sore|aching|strained eyes",
        "eyes ~ tired|ache|aching|strained|sore",
    ),
    "cosmetic_thickness": (
        "thick|thickness",
        "thin|thinner|thinnest",
        "bottle bottoms",
        "coke bottle|bottles",
        "bulky",
    ),
    "weight_comfort": (
        "heavy",
        "weight",
        "lightweight|lighter",
        "slide|slides|sliding|slip|slips|slipping down",
        "marks on ~ nose",
        "pressure marks",
    ),
    "budget_sensitive": (
        "budget",
        "afford|affordable",
        "cheap|cheaper|cheapest|inexpensive|economical",
        "cost|costs|price|prices|priced",
        "expensive",
        "fixed income",
        "pensioner",
        "just the basics",
        "basic lenses",
        "paying extra",
    ),
    "premium_preference": (
        "premium",
        "best lens|lenses",
        "very best",
        "top of the range",
        "top tier",
        "high end",
        "latest technology",
        "money no object",
        "regardless of price|cost",
        "luxury",
    ),
    "rimless_frame": (
        "rimless",
        "frameless",
        "drilled",
        "three|3 piece",
    ),
    "frequent_lens_scratching": (
        "scratch|scratches|scratched|scratching",
        "scuff|scuffs|scuffed",
    ),
    "swimming_water_sports": (
        "swim|swims|swimming|swimmer",
        "pool",
        "surf|surfs|surfing|surfer|windsurfer|windsurfing",
        "water polo|sports",
        "kayak|kayaks|kayaking|sail|sails|sailing|sailor|rowing",
        "snorkel*",
        "diving|diver",
        "lifeguard",
        "paddleboard*",
    ),
}

AVERSIVE: Final[frozenset[str]] = frozenset(
    {
        "glare_sensitivity",
        "cosmetic_thickness",
        "weight_comfort",
        "frequent_lens_scratching",
    }
)

AVERSIVE_PHRASES: Final[dict[str, tuple[str, ...]]] = {
    "budget_sensitive": ("expensive", "paying extra"),
}

EXCLUSIONS: Final[tuple[str, ...]] = (
    "semi rimless",
    "half rimless",
    "heavy ~ user|users",
    "can afford",
    "safety net",
)
