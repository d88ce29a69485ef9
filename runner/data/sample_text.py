"""Vocabularies and templates of the offline sample suite (`mixft.runner.data.samples`).

Every name is invented and every phrase written for mixft. A classification input holds exactly one
cue phrase of its class (CUES); templates and filler never contain a cue, so the label follows from
the text and `label_of` can check it. Pools whose values name a row (companies, people, words) are
split between train and eval by `samples`, so keep their entries distinct.
"""

from __future__ import annotations

# (name, ticker): the subject of most financial inputs
COMPANIES = (
    ("Alderbank Holdings", "ALDB"), ("Brightwater Energy", "BRWE"), ("Cobalt Ridge Mining", "CBRM"),
    ("Dunmore Retail Group", "DNMR"), ("Eastlake Pharmaceuticals", "ELKP"), ("Fernhill Logistics", "FHLG"),
    ("Glenmoor Insurance", "GLMI"), ("Harbourline Shipping", "HBLS"), ("Ironvale Steel", "IRVS"),
    ("Juniper Grove Foods", "JGFD"), ("Kestrel Aerospace", "KSTA"), ("Larchfield Software", "LRCH"),
    ("Marigold Telecom", "MGTC"), ("Northgate Utilities", "NGTU"), ("Oakhurst Capital", "OKHC"),
    ("Pinecrest Motors", "PNCM"), ("Quarry Bay Cement", "QBCM"), ("Redwood Semiconductor", "RWSC"),
    ("Silverbirch Media", "SBMD"), ("Thornbury Chemicals", "THBC"), ("Upland Agritech", "UPAG"),
    ("Valemont Hotels", "VLMH"), ("Westbrook Paper", "WBPP"), ("Yarrow Biotech", "YRWB"),
    ("Zephyr Airlines", "ZPHA"), ("Ashcombe Brewing", "ASHB"), ("Birchwood Textiles", "BWTX"),
    ("Cedarline Rail", "CDRL"), ("Driftwood Apparel", "DRFT"), ("Elmstead Construction", "ELMC"),
    ("Foxglove Cosmetics", "FXGC"), ("Greystone Realty", "GRYR"), ("Hollowell Tools", "HLWT"),
    ("Ivybridge Networks", "IVBN"), ("Kingsmere Bank", "KGMB"), ("Lowther Packaging", "LWTP"),
    ("Meadowvale Dairy", "MDVD"), ("Nettlefold Engineering", "NTFE"), ("Orchard Point Solar", "OPSL"),
    ("Penrose Gaming", "PNRG"),
)  # fmt: skip
PEOPLE = (
    "Maria Okonkwo", "Daniel Fischer", "Aiko Tanaka", "Rahul Mehta", "Sofia Lindqvist", "James Whitaker",
    "Elena Petrova", "Carlos Ibarra", "Hannah Becker", "Tomasz Nowak", "Grace Mensah", "Lucas Moreau",
    "Priya Raman", "Oliver Grant", "Ingrid Solberg", "Kenji Watanabe", "Amara Diallo", "Felix Hartmann",
    "Chloe Dubois", "Mateo Rossi", "Nadia Haddad", "Samuel Osei", "Yuki Morimoto", "Laura Jansen",
    "Viktor Horvat",
)  # fmt: skip
PLACES = (
    "Helsinki", "Rotterdam", "Singapore", "Nairobi", "Monterrey", "Osaka", "Gdansk", "Lyon", "Porto",
    "Calgary", "Perth", "Mumbai", "Bogota", "Tallinn", "Dubai", "Johannesburg", "Seoul", "Auckland",
    "Antwerp", "Houston", "Manila", "Lagos", "Krakow", "Valencia", "Vancouver",
)  # fmt: skip
FIRST_NAMES = (
    "Ava", "Ben", "Chen", "Dara", "Eli", "Farah", "Gus", "Hana", "Ivan", "Jade", "Kofi", "Lena", "Milo",
    "Nora", "Omar", "Pia", "Ravi", "Sara", "Theo", "Uma",
)  # fmt: skip
WORDS = (
    "anchor", "basket", "candle", "dolphin", "engine", "feather", "garden", "harbor", "island", "jacket",
    "kettle", "ladder", "meadow", "needle", "orange", "pencil", "quilt", "river", "saddle", "tablet",
    "umbrella", "violin", "window", "yogurt", "zipper", "bridge", "castle", "desert", "forest", "glacier",
    "hammer", "lantern", "mirror",
)  # fmt: skip
ITEMS = ("apples", "pencils", "marbles", "stickers", "books", "cookies", "shells", "cards")
GOODS = ("jacket", "bicycle", "lamp", "backpack", "chair", "helmet")
HEADLINE_SUBJECTS = (
    "Gold", "Spot gold", "Gold futures", "Bullion", "Comex gold",
    "Gold prices", "Silver", "Gold ETF holdings", "MCX gold", "Platinum",
)  # fmt: skip

DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
PERIODS = (
    "first quarter",
    "second quarter",
    "third quarter",
    "fourth quarter",
    "first half",
    "financial year",
)
TWEET_TAILS = (
    "via @finwire_desk",
    "#stocks",
    "(premarket)",
    "- sources",
    "per filing",
    "#investing",
    "| brief",
)
FIQA_TAILS = ("what do you think?", "more details soon", "watching closely", "chart inside", "thoughts?")
HEADLINE_TAILS = (
    "in early trade", "as dollar firms", "ahead of US jobs data", "after Fed minutes", "in Asian trade",
    "on Monday", "as traders weigh rate outlook", "amid geopolitical worries", "in thin holiday trade",
)  # fmt: skip

# label texts in the order of each task's source ids (the YAML label_map)
LABELS = {
    "headline": ("Yes", "No"),
    "fpb": ("negative", "neutral", "positive"),
    "fin_ner_cls": ("person", "location", "organization"),
    "twitter_sa": ("Bearish", "Bullish", "Neutral"),
    "fiqa_sa": ("negative", "neutral", "positive"),
    "twitter_topics": (
        "Analyst Update", "Fed | Central Banks", "Company | Product News", "Treasuries | Corporate Debt",
        "Dividend", "Earnings", "Energy | Oil", "Financials", "Currencies", "General News | Opinion",
        "Gold | Metals | Materials", "IPO", "Legal | Regulation", "M&A | Investments", "Macro", "Markets",
        "Politics", "Personnel Change", "Stock Commentary", "Stock Movement",
    ),
}  # fmt: skip
# rows of each class per block of the label sequence: near-balanced but never uniform
CLASS_COUNTS = {
    "headline": (5, 6),
    "fpb": (3, 5, 4),
    "fin_ner_cls": (4, 3, 5),
    "twitter_sa": (3, 4, 5),
    "fiqa_sa": (4, 3, 5),
    "twitter_topics": tuple(1 + (i % 3 != 1) for i in range(20)),
}

_FPB = {
    "negative": ("issued a profit warning", "reported a wider operating loss", "cut its full-year outlook",
                 "announced temporary layoffs", "saw net sales decline", "posted a drop in pre-tax profit"),
    "neutral": ("will publish its interim report", "signed a framework agreement", "appointed a new auditor",
                "held its annual general meeting", "is listed on the main market", "operates a network of service centres"),
    "positive": ("raised its full-year guidance", "won a major supply order", "reported record net sales",
                 "saw operating profit rise", "more than doubled its net profit", "posted a jump in order intake"),
}  # fmt: skip
_TWITTER_SA = {
    "Bearish": ("downgraded to sell", "shares slump", "misses estimates", "cuts forecast", "hit by selloff",
                "falls to 52-week low"),
    "Bullish": ("upgraded to buy", "shares jump", "beats estimates", "raises forecast", "hits all-time high",
                "soars on strong demand"),
    "Neutral": ("to present at investor conference", "files quarterly report", "schedules earnings call",
                "announces webcast", "sets annual meeting date", "updates investor presentation"),
}  # fmt: skip
_TOPICS = (
    ("price target raised", "initiates coverage", "reiterated outperform"),
    ("fed chair", "rate decision", "central bank minutes"),
    ("unveils new product", "launches app", "product recall"),
    ("treasury yields", "bond sale", "notes offering"),
    ("declares quarterly dividend", "dividend hike", "special dividend"),
    ("quarterly earnings", "earnings per share", "reports q2 results"),
    ("crude oil", "opec output", "natural gas prices"),
    ("bank stress test", "loan growth", "insurance premiums"),
    ("dollar index", "euro slips against", "yen weakens"),
    ("opinion:", "op-ed", "what we learned this week"),
    ("gold futures", "copper prices", "lithium supply"),
    ("ipo priced", "files for ipo", "public debut"),
    ("sec charges", "antitrust probe", "settles lawsuit"),
    ("agrees to acquire", "takeover bid", "merger talks"),
    ("gdp growth", "jobless claims", "inflation data"),
    ("s&p 500", "wall street opens", "nasdaq composite"),
    ("white house", "senate vote", "election campaign"),
    ("names new ceo", "steps down as chair", "appoints cfo"),
    ("stocks to watch", "is it time to buy", "top picks for"),
    ("shares rise", "stock slides", "trading halted"),
)
# FiQA is never trained on: its cues are those of fpb and twitter_sa, so it measures transfer
_SA = dict(zip(LABELS["twitter_sa"], ("negative", "positive", "neutral"), strict=True))
CUES: dict[str, dict[str, tuple[str, ...]]] = {
    "headline": {
        "Yes": ("rises", "climbs", "jumps", "gains", "rallies", "edges higher", "hits record high", "surges"),
        "No": ("falls", "slips", "drops", "eases", "holds steady", "trades flat", "little changed", "slides"),
    },
    "fpb": _FPB,
    "twitter_sa": _TWITTER_SA,
    "twitter_topics": dict(zip(LABELS["twitter_topics"], _TOPICS, strict=True)),
    "fiqa_sa": {label: _FPB[label] + _TWITTER_SA[tweet_label] for tweet_label, label in _SA.items()},
    # the entity's type is a property of its name; the templates give a tiny model context cues too
    "fin_ner_cls": {"person": PEOPLE, "location": PLACES, "organization": tuple(c for c, _ in COMPANIES)},
}

HEADLINE_TEMPLATES = (
    "{subj} {cue} {tail}",
    "{subj} {cue} {tail}; spot at ${price}",
    "{day}: {subj} {cue} {tail}",
)
HEADLINE_PROMPTS = (
    "Does the headline report the price going up? Answer Yes or No.",
    "Is this headline about a price increase? Reply with Yes or No.",
    "Read the news headline. Did the price rise? Answer with Yes or No.",
)
FPB_TEMPLATES = (
    "{co} {cue} in the {period}.",
    "In a stock exchange release on {day}, {co} said it {cue}.",
    "{co}, which employs {n} people, {cue}.",
    "According to the company, {co} {cue} in the {period}.",
    "{co} ( {tk} ) {cue} , the company said .",
)
TWITTER_SA_TEMPLATES = (
    "${tk} {co} {cue} {link}",
    "{co} {cue} {tail} ${tk}",
    "${tk}: {cue} {tail}",
    "{co} (${tk}) {cue} {link}",
)
TOPIC_TEMPLATES = (
    "${tk} {cue} {tail}",
    "{co}: {cue} {link}",
    "{cue} - {co} {tail}",
    "{co} (${tk}) {cue} {tail} {link}",
)
FIQA_TEMPLATES = ("{co} {cue}, {tail}", "${tk} {cue} - {tail}", "Why {co} {cue}: {tail}")
FIQA_PROMPT = "What is the sentiment of this financial post? Choose one of: negative, neutral, positive."
NER_TEMPLATES = {
    "person": (
        "{name}, the chief executive, said demand held up in the {period}.",
        "Finance director {name} will present the figures on {day}.",
        '"We expect steady orders," said {name}, who chairs the board.',
        "The board appointed {name} as managing director from {day}.",
    ),
    "location": (
        "The company will open a plant in {name} employing about {n} people.",
        "Its headquarters are located in {name}.",
        "The group sold its warehouse in {name} for EUR {n} million.",
        "Deliveries to customers in {name} start in the {period}.",
    ),
    "organization": (
        "{name} said its board approved a buyback of {n} shares.",
        "The contract was awarded to {name} on {day}.",
        "Shareholders of {name} approved the merger in the {period}.",
        "{name} and its subsidiaries employ {n} people.",
    ),
}
NER_PROMPTS = (
    "What is the entity type of '{name}' in the sentence? Options: person, location, organization.",
    "Classify '{name}' in the sentence below as person, location or organization.",
    "In the input, is '{name}' a person, a location or an organization? Answer with one word.",
)

METRICS = (
    "revenue", "net income", "operating expenses", "interest expense", "total assets",
    "cash and equivalents", "capital expenditures", "research and development costs", "long-term debt",
    "deferred revenue",
)  # fmt: skip
FINQA_PROMPT = "Please answer the financial question using the report excerpt; reply with a number only."
CONVFINQA_PROMPTS = (
    "Read the report excerpt and its table, then answer the last question. Earlier answers may help. "
    "Reply with a number only.",
    "Using the financial text, the table and the conversation so far, answer the final question with a number.",
)
ORCA_SYSTEM_PROMPTS = (
    "",
    "You are a helpful assistant.",
    "You are an AI assistant. Think step by step and explain your answer.",
    "You are a careful assistant who answers briefly and accurately.",
)
ORCA_ID_PREFIXES = ("flan", "niv", "t0", "cot")
