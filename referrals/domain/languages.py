"""Languages by name: a person's language is recorded as a BCP 47 tag (`es`, `es-MX`, `yue`), and documents print
its English name ("Spanish", "Spanish (MX)"); a tag not listed prints as it was recorded."""

# ISO 639 codes of the languages spoken by people an American city's police meet most often (the Census Bureau's
# languages spoken at home, and the interpreter lists of Chicago, Minneapolis and New York City).
NAMES = {
    "am": "Amharic",
    "ar": "Arabic",
    "ase": "American Sign Language",
    "bn": "Bengali",
    "bo": "Tibetan",
    "bs": "Bosnian",
    "cmn": "Mandarin",
    "de": "German",
    "el": "Greek",
    "en": "English",
    "es": "Spanish",
    "fa": "Persian",
    "ff": "Fula",
    "fr": "French",
    "gu": "Gujarati",
    "ha": "Hausa",
    "he": "Hebrew",
    "hi": "Hindi",
    "hmn": "Hmong",
    "hr": "Croatian",
    "ht": "Haitian Creole",
    "hy": "Armenian",
    "id": "Indonesian",
    "ig": "Igbo",
    "it": "Italian",
    "ja": "Japanese",
    "ka": "Georgian",
    "km": "Khmer",
    "ko": "Korean",
    "lo": "Lao",
    "mam": "Mam",
    "ml": "Malayalam",
    "mn": "Mongolian",
    "mr": "Marathi",
    "ms": "Malay",
    "my": "Burmese",
    "ne": "Nepali",
    "nl": "Dutch",
    "om": "Oromo",
    "pa": "Punjabi",
    "pl": "Polish",
    "prs": "Dari",
    "ps": "Pashto",
    "pt": "Portuguese",
    "quc": "K\u2019iche\u2019",
    "ro": "Romanian",
    "ru": "Russian",
    "so": "Somali",
    "sq": "Albanian",
    "sr": "Serbian",
    "sw": "Swahili",
    "ta": "Tamil",
    "te": "Telugu",
    "th": "Thai",
    "ti": "Tigrinya",
    "tl": "Tagalog",
    "tr": "Turkish",
    "tw": "Twi",
    "uk": "Ukrainian",
    "ur": "Urdu",
    "uz": "Uzbek",
    "vi": "Vietnamese",
    "wo": "Wolof",
    "yi": "Yiddish",
    "yo": "Yoruba",
    "yue": "Cantonese",
    "zh": "Chinese",
}


def language_name(tag: str) -> str:
    """`es` → "Spanish", `es-MX` → "Spanish (MX)", `xx` → "xx"."""
    primary, _, rest = tag.partition("-")
    name = NAMES.get(primary.lower())
    if name is None:
        return tag
    return f"{name} ({rest})" if rest else name
